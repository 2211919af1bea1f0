namespace Idempotency.Storage;

/// <summary>The result of <see cref="IIdempotencySequenceStore.TryBeginSequenceAsync"/>.</summary>
public readonly struct SequenceBeginResult
{
    private SequenceBeginResult(SequenceBeginStatus status, long fencingToken, StoredResponse? response, long lastSequence, long currentEpoch)
    {
        Status = status;
        FencingToken = fencingToken;
        Response = response;
        LastSequence = lastSequence;
        CurrentEpoch = currentEpoch;
    }

    /// <summary>What the store found or did.</summary>
    public SequenceBeginStatus Status { get; }

    /// <summary>The caller's fencing token when <see cref="Status"/> is <see cref="SequenceBeginStatus.Acquired"/>; otherwise 0.</summary>
    public long FencingToken { get; }

    /// <summary>The stored response when <see cref="Status"/> is <see cref="SequenceBeginStatus.Completed"/>.</summary>
    public StoredResponse? Response { get; }

    /// <summary>
    /// The last applied number as seen by the request's epoch (0 when the request opens a newer epoch), for
    /// <see cref="SequenceBeginStatus.Gap"/> and <see cref="SequenceBeginStatus.AlreadyApplied"/>.
    /// </summary>
    public long LastSequence { get; }

    /// <summary>The stream's epoch, for <see cref="SequenceBeginStatus.EpochFenced"/>.</summary>
    public long CurrentEpoch { get; }

    /// <summary>The caller owns the stream's in-flight slot.</summary>
    /// <param name="fencingToken">Unique per ownership of the slot, never 0, never reused for this stream.</param>
    public static SequenceBeginResult Acquired(long fencingToken)
    {
        if (fencingToken == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(fencingToken), "A fencing token must not be 0.");
        }

        return new(SequenceBeginStatus.Acquired, fencingToken, null, 0, 0);
    }

    /// <summary>The in-flight slot is busy.</summary>
    public static SequenceBeginResult InFlight() => new(SequenceBeginStatus.InFlight, 0, null, 0, 0);

    /// <summary>The number was applied with the same fingerprint; <paramref name="response"/> replays it.</summary>
    public static SequenceBeginResult Completed(StoredResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new(SequenceBeginStatus.Completed, 0, response, 0, 0);
    }

    /// <summary>The number was applied or is in flight with another fingerprint.</summary>
    public static SequenceBeginResult FingerprintMismatch() => new(SequenceBeginStatus.FingerprintMismatch, 0, null, 0, 0);

    /// <summary>The number was applied and has left the window.</summary>
    public static SequenceBeginResult AlreadyApplied(long lastSequence) => new(SequenceBeginStatus.AlreadyApplied, 0, null, lastSequence, 0);

    /// <summary>Numbers between <paramref name="lastSequence"/> and the request's are missing.</summary>
    public static SequenceBeginResult Gap(long lastSequence) => new(SequenceBeginStatus.Gap, 0, null, lastSequence, 0);

    /// <summary>The request's epoch is older than <paramref name="currentEpoch"/>.</summary>
    public static SequenceBeginResult EpochFenced(long currentEpoch) => new(SequenceBeginStatus.EpochFenced, 0, null, 0, currentEpoch);
}
