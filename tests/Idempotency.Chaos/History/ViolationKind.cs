namespace Idempotency.Chaos.History;

/// <summary>The ways a history can break the promise "a retry never runs an operation twice; no response is lost or leaked".</summary>
public enum ViolationKind
{
    /// <summary>An operation ran again without evidence that an earlier execution left its record free (response not stored, lease ended).</summary>
    DuplicateExecution,

    /// <summary>A replay is not identical (status, kept headers, body) to the stored response of its operation.</summary>
    ReplayMismatch,

    /// <summary>A replay carries the response of an execution whose completion the store fenced off.</summary>
    FencedResponseReplayed,

    /// <summary>A response carries another principal's (or another operation's) data.</summary>
    CrossPrincipalLeak,

    /// <summary>A first (not replayed) success response is not the response its own execution wrote.</summary>
    ResponseWithoutExecution,

    /// <summary>A 5xx other than 503 store-unavailable.</summary>
    ServerError,

    /// <summary>A 503 without Retry-After or without the store-unavailable problem type.</summary>
    UnavailableWithoutRetryAfter,

    /// <summary>A 409 in flight without Retry-After.</summary>
    InFlightWithoutRetryAfter,

    /// <summary>Input the contract refuses reached a handler.</summary>
    RejectedInputExecuted,

    /// <summary>Input the contract refuses was answered with something other than a 4xx.</summary>
    RejectedInputAccepted,

    /// <summary>A client ended on something other than a success (its response or its replay).</summary>
    LostResponse,
}
