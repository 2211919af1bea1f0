using Idempotency.Policies;
using Idempotency.Problems;

namespace Idempotency.OpenApi.Internal;

/// <summary>
/// One problem the middleware answers with: its name (the last part of its <c>type</c>) and status, read from the
/// middleware's own <see cref="IdempotencyProblem"/>, and when it happens, in the words of an API description.
/// </summary>
internal sealed class ProblemKind(IdempotencyProblem problem, string when)
{
    public string Name => problem.Name;

    public int Status => problem.Status;

    /// <summary>Markdown; <c>{key}</c>, <c>{number}</c>, <c>{epoch}</c> and <c>{stream}</c> stand for the configured header names.</summary>
    public string When { get; } = when;
}

/// <summary>
/// The problem responses of the contract (docs/contract.md) a policy can produce, as the OpenAPI document describes them.
/// </summary>
internal static class ProblemCatalog
{
    public static readonly ProblemKind KeyMissing = new(
        IdempotencyProblem.KeyMissing, "the request has no `{key}` header, and this endpoint requires one.");

    public static readonly ProblemKind KeyInvalid = new(
        IdempotencyProblem.KeyInvalid, "the `{key}` header is empty, malformed, too long or sent more than once.");

    public static readonly ProblemKind ResolvedKeyMissing = new(
        IdempotencyProblem.KeyMissing, "the request carries no idempotency key where this endpoint takes it from (a route value, a member of the body or a header of its own), and this endpoint requires one.");

    public static readonly ProblemKind ResolvedKeyInvalid = new(
        IdempotencyProblem.KeyInvalid, "the idempotency key this endpoint takes from the request is malformed or too long.");

    public static readonly ProblemKind SequenceInvalid = new(
        IdempotencyProblem.SequenceNumberInvalid, "`{number}`, `{epoch}` or `{stream}` is malformed or sent more than once.");

    public static readonly ProblemKind SequenceStreamInvalid = new(
        IdempotencyProblem.SequenceStreamInvalid, "the sequence stream this endpoint takes from the request (for example a route value) is empty or longer than 1024 characters.");

    public static readonly ProblemKind RequestBodyInvalid = new(
        IdempotencyProblem.RequestBodyInvalid, "the server refused to read the request body (malformed framing); a body over the server's size limit gets `413` with this type.");

    public static readonly ProblemKind InFlight = new(
        IdempotencyProblem.RequestInFlight, "a request with the same key (or sequence number) is still being processed; retry it after `Retry-After`.");

    public static readonly ProblemKind NotReplayable = new(
        IdempotencyProblem.ResponseNotReplayable, "the request with this key was executed, but its response was too large to keep; it will not run again (extension `originalStatus`).");

    public static readonly ProblemKind EpochFenced = new(
        IdempotencyProblem.SequenceEpochFenced, "a newer epoch of the client has taken over the stream (extension `currentEpoch`).");

    public static readonly ProblemKind AlreadyApplied = new(
        IdempotencyProblem.SequenceAlreadyApplied, "the sequence number was applied and its response is no longer kept; it will not be applied again (extension `lastSequence`).");

    public static readonly ProblemKind Gap = new(
        IdempotencyProblem.SequenceGap, "earlier sequence numbers of the stream have not been applied yet (extensions `expectedSequence`, `lastSequence`).");

    public static readonly ProblemKind KeyReused = new(
        IdempotencyProblem.KeyReused, "the key (or sequence number) was already used for a different request: method, path, query, content type or body differ.");

    public static readonly ProblemKind SequenceMissing = new(
        IdempotencyProblem.SequenceNumberMissing, "the request has no `{number}` header, and this endpoint requires one.");

    public static readonly ProblemKind QuotaExceeded = new(
        IdempotencyProblem.QuotaExceeded, "the records kept for this caller have reached its quota of the store (in-memory store, `MaxBytesPerScope`); the request was not processed. Retry with the same key after `Retry-After`.");

    public static readonly ProblemKind StoreUnavailable = new(
        IdempotencyProblem.StoreUnavailable, "idempotency records cannot be checked right now; the request was not processed. Retry with the same key after `Retry-After`.");

    public static readonly ProblemKind StoreFull = new(
        IdempotencyProblem.StoreFull, "the store has no room for a new record (in-memory store, `SizeLimitBytes`); the request was not processed, even under a fail-open policy. Retry with the same key after `Retry-After`.");

    /// <summary>The problems a request to an endpoint under <paramref name="policy"/> can get, in status order.</summary>
    public static List<ProblemKind> For(ResolvedPolicy policy)
    {
        var sequence = policy.Sequence != SequenceRequirement.Off;
        var problems = new List<ProblemKind>(14);
        var resolved = policy.Key.HeaderName is null;
        if (policy.KeyRequired && policy.Sequence != SequenceRequirement.Required)
        {
            problems.Add(resolved ? ResolvedKeyMissing : KeyMissing);
        }

        problems.Add(resolved ? ResolvedKeyInvalid : KeyInvalid);
        if (sequence)
        {
            problems.Add(SequenceInvalid);
            if (policy.HasSequenceStreamResolver)
            {
                problems.Add(SequenceStreamInvalid);
            }
        }

        // Only a fingerprint or a key resolver that reads the body can meet one the server refuses to read.
        if ((policy.FingerprintComponents & FingerprintComponents.Body) != 0 || resolved)
        {
            problems.Add(RequestBodyInvalid);
        }

        problems.Add(InFlight);
        problems.Add(NotReplayable);
        if (sequence)
        {
            problems.Add(EpochFenced);
            problems.Add(AlreadyApplied);
            problems.Add(Gap);
        }

        problems.Add(KeyReused);
        if (policy.Sequence == SequenceRequirement.Required)
        {
            problems.Add(SequenceMissing);
        }

        // Room is not reachability: a full store or a scope at its quota is refused under any policy.
        problems.Add(QuotaExceeded);

        // A policy that fails open runs the handler when the store is down instead of answering 503.
        if (!policy.FailOpen)
        {
            problems.Add(StoreUnavailable);
        }

        problems.Add(StoreFull);

        return problems;
    }
}
