namespace Idempotency.Storage;

/// <summary>The result of <see cref="IIdempotencyStore.TryBeginAsync"/>.</summary>
public readonly struct IdempotencyBeginResult
{
    private IdempotencyBeginResult(IdempotencyBeginStatus status, long fencingToken, StoredResponse? response)
    {
        Status = status;
        FencingToken = fencingToken;
        Response = response;
    }

    /// <summary>What the store found or did.</summary>
    public IdempotencyBeginStatus Status { get; }

    /// <summary>The caller's fencing token when <see cref="Status"/> is <see cref="IdempotencyBeginStatus.Acquired"/>; otherwise 0.</summary>
    public long FencingToken { get; }

    /// <summary>The stored response when <see cref="Status"/> is <see cref="IdempotencyBeginStatus.Completed"/>; otherwise <see langword="null"/>.</summary>
    public StoredResponse? Response { get; }

    /// <summary>The caller owns a new in-flight record.</summary>
    /// <param name="fencingToken">A token, unique per ownership of this record, that proves ownership in later calls. Never 0.</param>
    public static IdempotencyBeginResult Acquired(long fencingToken)
    {
        if (fencingToken == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(fencingToken), "A fencing token must not be 0.");
        }

        return new(IdempotencyBeginStatus.Acquired, fencingToken, null);
    }

    /// <summary>Another request with the same fingerprint is in flight.</summary>
    public static IdempotencyBeginResult InFlight() => new(IdempotencyBeginStatus.InFlight, 0, null);

    /// <summary>The record is completed with the same fingerprint.</summary>
    public static IdempotencyBeginResult Completed(StoredResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new(IdempotencyBeginStatus.Completed, 0, response);
    }

    /// <summary>A live record has a different fingerprint.</summary>
    public static IdempotencyBeginResult FingerprintMismatch() => new(IdempotencyBeginStatus.FingerprintMismatch, 0, null);
}
