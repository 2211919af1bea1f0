namespace Idempotency.Execution;

/// <summary>What a begin (after any holding) decided, for a record and a stream alike, store failures included.</summary>
internal enum BeginDecision
{
    /// <summary>The caller owns the record or slot and runs the operation.</summary>
    Acquired,

    /// <summary>The operation completed before; its stored response answers.</summary>
    Completed,

    /// <summary>The identity is taken by a different operation.</summary>
    FingerprintMismatch,

    /// <summary>Another owner is executing it (still, after any wait).</summary>
    InFlight,

    /// <summary>A stream's number arrived before the ones before it (still, after any reorder wait).</summary>
    Gap,

    /// <summary>A stream's number was applied and its response has left the window.</summary>
    AlreadyApplied,

    /// <summary>The stream has moved on to a newer epoch.</summary>
    EpochFenced,

    /// <summary>The store could not be reached in time: the only failure that may fail open.</summary>
    StoreUnavailable,

    /// <summary>The store has no room for a new record or stream; never fails open.</summary>
    StoreFull,

    /// <summary>The caller's scope holds its quota of the store; never fails open.</summary>
    QuotaExceeded,

    /// <summary>The store holds a record this version cannot read; the operation must not run again because of it.</summary>
    RecordUnreadable,
}
