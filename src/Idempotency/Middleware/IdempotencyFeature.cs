using System.Diagnostics;

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

    public string? Scope { get; set; }

    public string? SequenceStream { get; set; }

    public long? SequenceNumber { get; set; }

    public long? SequenceEpoch { get; set; }

    public bool IsReplay => Outcome == IdempotencyOutcome.Replayed;

    public IdempotencyOutcome? Outcome { get; set; }

    /// <summary>The request's <c>idempotency</c> span; null when nobody listens.</summary>
    public Activity? Activity { get; }
}
