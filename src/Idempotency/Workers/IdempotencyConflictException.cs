namespace Idempotency;

/// <summary>
/// Thrown by <see cref="IIdempotentExecutor"/> when an operation's key cannot give its caller a result: used with
/// another payload, still executing elsewhere, or its result was not kept. The work did not run in this call, except
/// for the one caller whose work ran but whose result could not be serialized: it gets
/// <see cref="IdempotencyConflictReason.ResultNotReplayable"/> with the serializer's exception as
/// <see cref="Exception.InnerException"/>, so it can tell "ran, result lost" (never run again) from its work throwing
/// (which releases the record, so a retry runs the work again).
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

    /// <summary>Creates the exception with the failure that caused it.</summary>
    /// <param name="reason">Why.</param>
    /// <param name="message">What happened, for people.</param>
    /// <param name="innerException">The failure behind it, such as the serializer's exception.</param>
    public IdempotencyConflictException(IdempotencyConflictReason reason, string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the operation got no result.</summary>
    public IdempotencyConflictReason Reason { get; }
}
