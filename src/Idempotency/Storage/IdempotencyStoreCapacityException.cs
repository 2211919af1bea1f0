namespace Idempotency.Storage;

/// <summary>
/// Thrown by a store that refuses a begin for lack of room: the store is full, or the caller's scope holds its quota.
/// Nothing was written. This is not unavailability: the middleware answers <c>503 idempotency-store-full</c> or
/// <c>429 idempotency-quota-exceeded</c> and never runs the handler, fail-open or not, so a caller who fills the store
/// cannot switch protection off for everyone.
/// </summary>
internal sealed class IdempotencyStoreCapacityException : Exception
{
    public IdempotencyStoreCapacityException(StoreCapacityReason reason, TimeSpan retryAfter, string message)
        : base(message)
    {
        Reason = reason;
        RetryAfter = retryAfter;
    }

    public StoreCapacityReason Reason { get; }

    /// <summary>The soonest a retry may find room: a hint for the <c>Retry-After</c> header, at least one second.</summary>
    public TimeSpan RetryAfter { get; }
}
