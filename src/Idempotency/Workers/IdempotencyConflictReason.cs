namespace Idempotency;

/// <summary>Why <see cref="IIdempotentExecutor"/> refused to run or replay an operation.</summary>
public enum IdempotencyConflictReason
{
    /// <summary>The key was used before with a different payload. The work did not run; use a new key for a new operation.</summary>
    PayloadMismatch,

    /// <summary>Another execution with this key was still running when the wait for it ran out. Retry later.</summary>
    InFlight,

    /// <summary>
    /// The work ran, but its result was not kept: larger than the policy's <see cref="IdempotencyPolicy.MaxSnapshotBytes"/>,
    /// or it could not be serialized. It will not run again.
    /// </summary>
    ResultNotReplayable,
}
