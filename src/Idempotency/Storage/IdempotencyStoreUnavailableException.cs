namespace Idempotency.Storage;

/// <summary>
/// Thrown by an <see cref="IIdempotencyStore"/> that cannot reach its backend (connection refused or lost, a server
/// timeout, a server that refuses writes for now). It is the only store failure the middleware answers with
/// <c>503 idempotency-store-unavailable</c>, or runs the handler unprotected for when the policy is fail-open.
/// </summary>
/// <remarks>
/// Any other exception from a store, such as an <see cref="InvalidDataException"/> for a record the store cannot read,
/// is a server error: the middleware never runs the handler again because of it.
/// </remarks>
public sealed class IdempotencyStoreUnavailableException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public IdempotencyStoreUnavailableException()
        : base("The idempotency store is unavailable.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public IdempotencyStoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the backend's exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The backend's exception.</param>
    public IdempotencyStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
