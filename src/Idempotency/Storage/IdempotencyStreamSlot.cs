namespace Idempotency.Storage;

/// <summary>The live in-flight slot of a stream: the request that owns the stream's next number.</summary>
public sealed class IdempotencyStreamSlot
{
    /// <summary>Creates a slot.</summary>
    /// <param name="fencingToken">The owner's fencing token. Never 0.</param>
    /// <param name="epoch">The epoch the owner's request carries, 0 or more.</param>
    /// <param name="sequenceNumber">The number the owner's request carries, 1 or more.</param>
    /// <param name="leaseEndsAt">When the owner's lease ends, by the store's clock.</param>
    public IdempotencyStreamSlot(long fencingToken, long epoch, long sequenceNumber, DateTimeOffset leaseEndsAt)
    {
        if (fencingToken == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(fencingToken), "A slot's fencing token is never 0.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceNumber, 1);
        FencingToken = fencingToken;
        Epoch = epoch;
        SequenceNumber = sequenceNumber;
        LeaseEndsAt = leaseEndsAt;
    }

    /// <summary>The owner's fencing token.</summary>
    public long FencingToken { get; }

    /// <summary>The epoch of the owner's request; newer than the stream's when its first number is being applied.</summary>
    public long Epoch { get; }

    /// <summary>The number the owner is applying.</summary>
    public long SequenceNumber { get; }

    /// <summary>When the owner's lease ends, by the store's clock.</summary>
    public DateTimeOffset LeaseEndsAt { get; }
}
