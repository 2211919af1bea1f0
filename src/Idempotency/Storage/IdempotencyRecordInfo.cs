namespace Idempotency.Storage;

/// <summary>A live record as a store holds it: the answer of <see cref="IIdempotencyAdminStore.InspectRecordAsync"/>.</summary>
public sealed class IdempotencyRecordInfo
{
    private IdempotencyRecordInfo(IdempotencyRecordStatus status, long fencingToken, DateTimeOffset expiresAt, StoredResponse? response)
    {
        Status = status;
        FencingToken = fencingToken;
        ExpiresAt = expiresAt;
        Response = response;
    }

    /// <summary>Whether the record is in flight or completed.</summary>
    public IdempotencyRecordStatus Status { get; }

    /// <summary>The fencing token of the request that owns an in-flight record; 0 for a completed one, which has no owner.</summary>
    public long FencingToken { get; }

    /// <summary>
    /// By the store's clock, when the record goes: the end of the owner's lease while in flight, the end of the
    /// retention once completed. <see cref="DateTimeOffset.MaxValue"/> when the store keeps it without an end.
    /// </summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The stored response of a completed record; <see langword="null"/> while in flight.</summary>
    public StoredResponse? Response { get; }

    /// <summary>An in-flight record.</summary>
    /// <param name="fencingToken">The owner's fencing token. Never 0.</param>
    /// <param name="leaseEndsAt">When the owner's lease ends, by the store's clock.</param>
    public static IdempotencyRecordInfo InFlight(long fencingToken, DateTimeOffset leaseEndsAt)
    {
        if (fencingToken == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(fencingToken), "An in-flight record's fencing token is never 0.");
        }

        return new(IdempotencyRecordStatus.InFlight, fencingToken, leaseEndsAt, null);
    }

    /// <summary>A completed record.</summary>
    /// <param name="response">The stored response.</param>
    /// <param name="expiresAt">When its retention ends, by the store's clock.</param>
    public static IdempotencyRecordInfo Completed(StoredResponse response, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new(IdempotencyRecordStatus.Completed, 0, expiresAt, response);
    }
}
