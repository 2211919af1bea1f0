namespace Idempotency.Storage;

/// <summary>A live sequence stream as a store holds it: the answer of <see cref="IIdempotencyAdminStore.InspectStreamAsync"/>.</summary>
public sealed class IdempotencyStreamInfo
{
    /// <summary>Creates a description of a stream.</summary>
    /// <param name="epoch">The stream's epoch: that of its last applied number (0 before any).</param>
    /// <param name="lastSequenceNumber">The last applied number; 0 when none was applied in <paramref name="epoch"/>.</param>
    /// <param name="window">The applied numbers whose responses are kept, in ascending order.</param>
    /// <param name="slot">The live in-flight slot, or <see langword="null"/> when it is free (or its lease ended).</param>
    /// <param name="expiresAt">
    /// When the stream goes unless a request keeps it, by the store's clock: the later of its retention and its slot's
    /// lease; <see cref="DateTimeOffset.MaxValue"/> when the store keeps it without an end.
    /// </param>
    public IdempotencyStreamInfo(long epoch, long lastSequenceNumber, IReadOnlyList<IdempotencyStreamEntry> window, IdempotencyStreamSlot? slot, DateTimeOffset expiresAt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(lastSequenceNumber);
        ArgumentNullException.ThrowIfNull(window);
        Epoch = epoch;
        LastSequenceNumber = lastSequenceNumber;
        Window = window;
        Slot = slot;
        ExpiresAt = expiresAt;
    }

    /// <summary>The stream's epoch.</summary>
    public long Epoch { get; }

    /// <summary>The last applied number.</summary>
    public long LastSequenceNumber { get; }

    /// <summary>The applied numbers whose responses are kept for replay, in ascending order.</summary>
    public IReadOnlyList<IdempotencyStreamEntry> Window { get; }

    /// <summary>The live in-flight slot, or <see langword="null"/>.</summary>
    public IdempotencyStreamSlot? Slot { get; }

    /// <summary>When the stream goes unless a request keeps it, by the store's clock.</summary>
    public DateTimeOffset ExpiresAt { get; }
}
