namespace Idempotency;

/// <summary>
/// What the idempotency middleware knows about the current request, on <c>HttpContext.Features</c> from the moment
/// the request's endpoint is found to have a policy: read it in a handler instead of parsing the headers again, as
/// <c>IOutputCacheFeature</c> serves output caching. Requests without a policy have none.
/// </summary>
/// <remarks>
/// Values the middleware has not read yet (the key before it is parsed, say) are <see langword="null"/>; a request
/// rejected for a malformed header leaves what it could not read <see langword="null"/>. Once the handler runs, every
/// value the request carries is set.
/// </remarks>
public interface IIdempotencyFeature
{
    /// <summary>The name of the policy that governs the request (<see cref="IdempotencyOptions.DefaultPolicyName"/> for the default policy).</summary>
    string PolicyName { get; }

    /// <summary>The idempotency key, unquoted; <see langword="null"/> when the request carries none (or a malformed one).</summary>
    string? Key { get; }

    /// <summary>
    /// The scope the request's records and streams are kept under, as the scope resolver named it: for the default
    /// resolver the caller's <c>sub</c>, NameIdentifier or name claim value, or <c>anonymous</c>; for a custom resolver
    /// the string it returned. <see langword="null"/> until resolved, and for requests that are not recorded.
    /// </summary>
    string? Scope { get; }

    /// <summary>The sequence stream the request belongs to; <see langword="null"/> when it is not sequenced.</summary>
    string? SequenceStream { get; }

    /// <summary>The request's sequence number; <see langword="null"/> when it is not sequenced.</summary>
    long? SequenceNumber { get; }

    /// <summary>The client's epoch (0 when the request names none); <see langword="null"/> when it is not sequenced.</summary>
    long? SequenceEpoch { get; }

    /// <summary>Whether the response is a stored one, replayed to a retry.</summary>
    bool IsReplay { get; }

    /// <summary>What the middleware decided; <see langword="null"/> until it has decided. A running handler sees <see cref="IdempotencyOutcome.Executed"/>, <see cref="IdempotencyOutcome.PassThrough"/> or <see cref="IdempotencyOutcome.FailOpen"/>.</summary>
    IdempotencyOutcome? Outcome { get; }
}
