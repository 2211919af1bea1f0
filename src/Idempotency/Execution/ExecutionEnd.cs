namespace Idempotency.Execution;

/// <summary>How <see cref="IdempotencyEngine.ExecuteAsync{TWork}"/> ended, when the work returned.</summary>
internal enum ExecutionEnd
{
    /// <summary>The record or slot was completed with the work's snapshot (or the completion was fenced or failed and logged).</summary>
    Completed,

    /// <summary>Nothing was worth keeping: the record or slot was released.</summary>
    Released,

    /// <summary>Transactional: the work's writes and the record committed together; the held response may now be sent.</summary>
    Committed,

    /// <summary>Transactional: the response is not kept, so the work's writes were rolled back with the record; the held response is sent as it is.</summary>
    RolledBack,

    /// <summary>Transactional: the response could not be held whole (larger than the snapshot limit, or its capture failed); everything was rolled back.</summary>
    ResponseNotHeld,

    /// <summary>Transactional: the completion or the commit failed, or its outcome is unknown; nothing that claims success may be sent.</summary>
    CommitFailed,
}
