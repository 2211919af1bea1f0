using System.Diagnostics;
using Idempotency.Policies;

namespace Idempotency.Middleware;

/// <summary>
/// The middleware's state for one request: what <see cref="IIdempotencyFeature"/> shows the application, plus the
/// request's span, so the request path passes one object.
/// </summary>
internal sealed class IdempotencyFeature : IIdempotencyFeature
{
    public IdempotencyFeature(string policyName, Activity? activity)
    {
        PolicyName = policyName;
        Activity = activity;
    }

    public string PolicyName { get; }

    public string? Key { get; set; }

    // The scope as the resolver named it is worked out only when the application asks: most requests never do, and
    // the tagged form the middleware keeps would cost a substring per request.
    public string? Scope => TaggedScope is null ? null : PrincipalScope.Describe(TaggedScope);

    /// <summary>The scope as the middleware keeps it, tagged with its kind (see <see cref="PrincipalScope"/>).</summary>
    public string? TaggedScope { get; set; }

    public string? SequenceStream { get; set; }

    public long? SequenceNumber { get; set; }

    public long? SequenceEpoch { get; set; }

    public bool IsReplay => Outcome == IdempotencyOutcome.Replayed;

    public IdempotencyOutcome? Outcome { get; set; }

    /// <summary>The request's <c>idempotency</c> span; null when nobody listens.</summary>
    public Activity? Activity { get; }
}
