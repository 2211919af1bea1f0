namespace Idempotency.Storage;

/// <summary>
/// Thrown by a store that refuses a begin for lack of room: the store is full, or the caller's scope holds its quota.
/// Nothing was written. This is not unavailability: the middleware answers <c>503 idempotency-store-full</c> or
/// <c>429 idempotency-quota-exceeded</c> and never runs the handler, fail-open or not, so a caller who fills the store
/// cannot switch protection off for everyone. A worker's <see cref="IIdempotentExecutor"/> call throws it as it is.
/// </summary>
/// <remarks>A store of your own throws it from a begin that it refuses for room (see docs/custom-store.md).</remarks>
public sealed class IdempotencyStoreCapacityException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">Whether the whole store is full or only the caller's scope is over its quota.</param>
    /// <param name="retryAfter">The soonest a retry may find room; sent as <c>Retry-After</c>, in whole seconds, at least one.</param>
    /// <param name="message">What was refused and why.</param>
    public IdempotencyStoreCapacityException(StoreCapacityReason reason, TimeSpan retryAfter, string message)
        : base(message)
    {
        if (!Enum.IsDefined(reason))
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "Unknown capacity reason.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(retryAfter, TimeSpan.Zero);
        Reason = reason;
        RetryAfter = retryAfter;
    }

    /// <summary>Whether the whole store is full or only the caller's scope is over its quota.</summary>
    public StoreCapacityReason Reason { get; }

    /// <summary>The soonest a retry may find room: a hint for the <c>Retry-After</c> header, at least one second.</summary>
    public TimeSpan RetryAfter { get; }
}
