namespace Idempotency;

/// <summary>
/// What the idempotency middleware (or <see cref="IIdempotentExecutor"/>) decided for one request or operation. Read it
/// from <see cref="IIdempotencyFeature.Outcome"/>; metrics and traces carry it as the <c>idempotency.outcome</c> tag.
/// </summary>
/// <remarks>New values may be added in later versions: treat an unknown value as "not executed here".</remarks>
public enum IdempotencyOutcome
{
    /// <summary>The handler (or the work) ran under a fresh record or stream slot.</summary>
    Executed,

    /// <summary>A stored response (or result) was replayed.</summary>
    Replayed,

    /// <summary>The key (or sequence number) was reused for a different request: 422.</summary>
    Mismatch,

    /// <summary>Another request with the same key or number was in flight: 409.</summary>
    InFlight,

    /// <summary>A required key was missing: 400.</summary>
    MissingKey,

    /// <summary>A key or sequence header was malformed (400), or the server refused to read the body (400, 413).</summary>
    Invalid,

    /// <summary>A required sequence number was missing: 428.</summary>
    MissingSequence,

    /// <summary>A sequence number arrived before earlier ones: 409.</summary>
    SequenceGap,

    /// <summary>A sequence number was applied and has left the window: 409.</summary>
    AlreadyApplied,

    /// <summary>A request of an older epoch was refused: 409.</summary>
    Fenced,

    /// <summary>The stored response was too large to keep: 409.</summary>
    NotReplayable,

    /// <summary>The store was unreachable: 503.</summary>
    StoreUnavailable,

    /// <summary>The store was unreachable and the handler ran unprotected.</summary>
    FailOpen,

    /// <summary>The store had no room for a new record or stream: 503, never fail-open.</summary>
    StoreFull,

    /// <summary>The caller's scope held its quota of the store: 429, never fail-open.</summary>
    QuotaExceeded,

    /// <summary>A request without a key on an optional-key policy ran unprotected.</summary>
    PassThrough,

    /// <summary>The store holds a record this version cannot read: 500, the handler does not run.</summary>
    RecordUnreadable,

    /// <summary>The stored response has a content coding the retry does not accept: 406.</summary>
    NotAcceptable,
}
