namespace Idempotency;

/// <summary>
/// Thrown by <see cref="IIdempotentExecutor"/> when an operation's key cannot give its caller a result: used with
/// another payload, still executing elsewhere, or its result was not kept. The work did not run in this call.
/// </summary>
public sealed class IdempotencyConflictException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">Why.</param>
    /// <param name="message">What happened, for people.</param>
    public IdempotencyConflictException(IdempotencyConflictReason reason, string message)
        : base(message)
    {
        Reason = reason;
    }

    /// <summary>Why the operation got no result.</summary>
    public IdempotencyConflictReason Reason { get; }
}
