namespace Idempotency;

/// <summary>Why <see cref="IIdempotentExecutor"/> refused to run or replay an operation.</summary>
public enum IdempotencyConflictReason
{
    /// <summary>The key was used before with a different payload. The work did not run; use a new key for a new operation.</summary>
    PayloadMismatch,

    /// <summary>Another execution with this key was still running when the wait for it ran out. Retry later.</summary>
    InFlight,

    /// <summary>The work ran before, but its result was larger than the policy's snapshot limit and was not kept. It will not run again.</summary>
    ResultNotReplayable,
}
