namespace Idempotency.Storage.InMemory;

/// <summary>The operator's view and repairs (<see cref="IIdempotencyAdminStore"/>), under the same lock as every other operation.</summary>
internal sealed partial class InMemoryIdempotencyStore : IIdempotencyAdminStore
{
    public ValueTask<IdempotencyRecordInfo?> InspectRecordAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (!_records.TryGetValue(key, out var record) || record.IsExpired(now))
            {
                return new ValueTask<IdempotencyRecordInfo?>((IdempotencyRecordInfo?)null);
            }

            var expiresAt = WallClock(record.ExpiresAt, now);
            return new ValueTask<IdempotencyRecordInfo?>(record.Response is { } response
                ? IdempotencyRecordInfo.Completed(response, expiresAt)
                : IdempotencyRecordInfo.InFlight(record.FencingToken, expiresAt));
        }
    }

    public ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            if (!_records.TryGetValue(key, out var record))
            {
                return new ValueTask<bool>(false);
            }

            // An expired record goes too (it is garbage), but it was not live, so nothing was deleted.
            var live = !record.IsExpired(_timeProvider.GetTimestamp());
            Remove(record);
            return new ValueTask<bool>(live);
        }
    }

    public ValueTask<IdempotencyStreamInfo?> InspectStreamAsync(string streamKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (!_streams.TryGetValue(streamKey, out var stream) || stream.IsExpired(now))
            {
                return new ValueTask<IdempotencyStreamInfo?>((IdempotencyStreamInfo?)null);
            }

            var slot = stream.IsSlotLive(now)
                ? new IdempotencyStreamSlot(stream.SlotToken, stream.SlotEpoch, stream.SlotNumber, WallClock(stream.SlotLeaseEnd, now))
                : null;
            return new ValueTask<IdempotencyStreamInfo?>(
                new IdempotencyStreamInfo(stream.Epoch, stream.Last, stream.CopyWindow(), slot, WallClock(stream.ExpiresAt, now)));
        }
    }

    public ValueTask<bool> ResetStreamAsync(string streamKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            if (!_streams.TryGetValue(streamKey, out var stream))
            {
                return new ValueTask<bool>(false);
            }

            var live = !stream.IsExpired(_timeProvider.GetTimestamp());
            Remove(stream);
            return new ValueTask<bool>(live);
        }
    }

    /// <summary>A deadline on the store's timestamp clock as a time of day by the same provider.</summary>
    private DateTimeOffset WallClock(long deadline, long now)
    {
        // Saturated deadlines (a lease or retention of TimeSpan.MaxValue) mean "never".
        if (deadline == long.MaxValue)
        {
            return DateTimeOffset.MaxValue;
        }

        var utcNow = _timeProvider.GetUtcNow();
        var ticks = (Int128)(deadline - now) * TimeSpan.TicksPerSecond / _timeProvider.TimestampFrequency;
        return ticks >= (DateTimeOffset.MaxValue - utcNow).Ticks ? DateTimeOffset.MaxValue : utcNow.AddTicks((long)ticks);
    }
}
