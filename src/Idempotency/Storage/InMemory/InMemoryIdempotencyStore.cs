using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Idempotency.Storage.InMemory;

/// <summary>The default store: records and streams of one process, in memory, expiring by <see cref="TimeProvider"/>.</summary>
/// <remarks>
/// <para>
/// One lock guards everything. Each operation does a dictionary lookup and at most a few O(log n) index updates under
/// it, which beats finer-grained locking on the small machines this store is meant for, and makes every operation
/// trivially atomic. See README.md in this folder for the design.
/// </para>
/// </remarks>
internal sealed class InMemoryIdempotencyStore : IIdempotencyStore, IDisposable
{
    // A sweep of a large backlog releases the lock between batches so requests are not held up behind it.
    private const int SweepBatchSize = 256;

#if NET9_0_OR_GREATER
    private readonly Lock _lock = new();
#else
    private readonly object _lock = new();
#endif
    private readonly Dictionary<string, InMemoryRecord> _records = new(StringComparer.Ordinal);

    // A dictionary of its own: stream keys are a namespace apart from record keys.
    private readonly Dictionary<string, InMemoryStream> _streams = new(StringComparer.Ordinal);

    // Every live record and stream by expiry, so expired ones are found without scanning the whole store.
    private readonly ExpiryIndex _byExpiry = new();

    // Completed records, oldest completion first: the eviction order once expired records are gone.
    private readonly LinkedList<InMemoryRecord> _completionOrder = new();

    private readonly TimeProvider _timeProvider;
    private readonly long _sizeLimitBytes;
    private readonly ITimer _sweepTimer;
    private long _inFlightBytes;
    private long _completedBytes;

    // Streams are never evicted before they expire, so like in-flight records they only ever count against the limit.
    private long _streamBytes;
    private long _lastFencingToken;

    public InMemoryIdempotencyStore(IOptions<InMemoryIdempotencyStoreOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);

        var settings = options.Value;
        _timeProvider = timeProvider;
        _sizeLimitBytes = settings.SizeLimitBytes;
        _sweepTimer = timeProvider.CreateTimer(
            static state => ((InMemoryIdempotencyStore)state!).SweepExpired(),
            this,
            settings.ExpirationScanInterval,
            settings.ExpirationScanInterval);
    }

    /// <summary>Live and not yet swept records; for tests.</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _records.Count;
            }
        }
    }

    /// <summary>Live and not yet swept streams; for tests.</summary>
    internal int StreamCount
    {
        get
        {
            lock (_lock)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>The bytes accounted against the size limit; for tests.</summary>
    internal long SizeBytes
    {
        get
        {
            lock (_lock)
            {
                return _inFlightBytes + _completedBytes + _streamBytes;
            }
        }
    }

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfNotPositive(lease);
        cancellationToken.ThrowIfCancellationRequested();

        var fingerprintSpan = fingerprint.Span;
        var size = InMemoryRecord.MeasureInFlight(key, fingerprintSpan.Length);
        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (_records.TryGetValue(key, out var existing))
            {
                if (!existing.IsExpired(now))
                {
                    if (!fingerprintSpan.SequenceEqual(existing.Fingerprint))
                    {
                        return new ValueTask<IdempotencyBeginResult>(IdempotencyBeginResult.FingerprintMismatch());
                    }

                    return new ValueTask<IdempotencyBeginResult>(existing.Response is { } response
                        ? IdempotencyBeginResult.Completed(response)
                        : IdempotencyBeginResult.InFlight());
                }

                // An expired owner has lost the key; its record is garbage and must not count against the new one.
                Remove(existing);
            }

            if (!TryMakeRoom(size, now))
            {
                throw Full();
            }

            // Copied because the caller's buffer may be pooled and reused as soon as this call returns.
            var record = new InMemoryRecord(key, fingerprintSpan.ToArray(), ++_lastFencingToken, Deadline(now, lease));
            _records.Add(key, record);
            _byExpiry.Set(record);
            _inFlightBytes += record.SizeBytes;
            return new ValueTask<IdempotencyBeginResult>(IdempotencyBeginResult.Acquired(record.FencingToken));
        }
    }

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfNotPositive(lease);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (!TryGetOwned(key, fencingToken, now, out var record))
            {
                return new ValueTask<bool>(false);
            }

            record.ExtendLease(Deadline(now, lease));
            _byExpiry.Set(record);
            return new ValueTask<bool>(true);
        }
    }

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(response);
        ThrowIfNotPositive(retention);
        cancellationToken.ThrowIfCancellationRequested();

        var responseBytes = InMemoryRecord.MeasureResponse(response);
        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (!TryGetOwned(key, fencingToken, now, out var record))
            {
                return new ValueTask<bool>(false);
            }

            if (!TryMakeRoom(responseBytes, now))
            {
                // Dropping the record would let a retry run the operation a second time, and throwing would leave it
                // in flight until its lease ends, with the same result. Keeping only the status is what the middleware
                // does with a body over its snapshot limit: a retry learns the outcome and nothing runs twice.
                response = new StoredResponse(response.StatusCode, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false);
                responseBytes = 0;
            }

            _inFlightBytes -= record.SizeBytes;
            record.Complete(response, responseBytes, Deadline(now, retention));
            _completedBytes += record.SizeBytes;
            _byExpiry.Set(record);
            record.CompletionNode = _completionOrder.AddLast(record);
            return new ValueTask<bool>(true);
        }
    }

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            if (!TryGetOwned(key, fencingToken, _timeProvider.GetTimestamp(), out var record))
            {
                return new ValueTask<bool>(false);
            }

            Remove(record);
            return new ValueTask<bool>(true);
        }
    }

    public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceNumber, 1);
        ThrowIfNotPositive(lease);
        cancellationToken.ThrowIfCancellationRequested();

        var fingerprintSpan = fingerprint.Span;
        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (_streams.TryGetValue(streamKey, out var stream) && stream.IsExpired(now))
            {
                // An expired stream is a missing one: epoch 0, last 0, nothing in flight.
                Remove(stream);
                stream = null;
            }

            // The decision order of IIdempotencyStore.TryBeginSequenceAsync, step by step.
            var streamEpoch = stream?.Epoch ?? 0;
            if (epoch < streamEpoch)
            {
                return new ValueTask<SequenceBeginResult>(SequenceBeginResult.EpochFenced(streamEpoch));
            }

            var last = stream is not null && epoch == streamEpoch ? stream.Last : 0;
            if (sequenceNumber <= last)
            {
                if (!stream!.TryGetApplied(sequenceNumber, out var appliedFingerprint, out var response))
                {
                    return new ValueTask<SequenceBeginResult>(SequenceBeginResult.AlreadyApplied(last));
                }

                return new ValueTask<SequenceBeginResult>(fingerprintSpan.SequenceEqual(appliedFingerprint)
                    ? SequenceBeginResult.Completed(response)
                    : SequenceBeginResult.FingerprintMismatch());
            }

            // Cannot overflow: sequenceNumber > last, so last < long.MaxValue.
            if (sequenceNumber > last + 1)
            {
                return new ValueTask<SequenceBeginResult>(SequenceBeginResult.Gap(last));
            }

            if (stream is not null && stream.IsSlotLive(now))
            {
                return new ValueTask<SequenceBeginResult>(
                    stream.SlotEpoch == epoch && stream.SlotNumber == sequenceNumber && !fingerprintSpan.SequenceEqual(stream.SlotFingerprint)
                        ? SequenceBeginResult.FingerprintMismatch()
                        : SequenceBeginResult.InFlight());
            }

            // An expired slot that is being replaced gives its bytes back.
            var needed = stream is null
                ? InMemoryStream.MeasureEmpty(streamKey) + InMemoryStream.MeasureSlot(fingerprintSpan.Length)
                : InMemoryStream.MeasureSlot(fingerprintSpan.Length) - stream.SlotBytes;
            if (!TryMakeRoom(needed, now))
            {
                throw Full();
            }

            var token = ++_lastFencingToken;
            if (stream is null)
            {
                stream = new InMemoryStream(streamKey);
                _streams.Add(streamKey, stream);
                _streamBytes += stream.SizeBytes;
            }

            var before = stream.SizeBytes;

            // Copied because the caller's buffer may be pooled and reused as soon as this call returns.
            stream.TakeSlot(epoch, sequenceNumber, fingerprintSpan.ToArray(), token, Deadline(now, lease));
            _streamBytes += stream.SizeBytes - before;
            _byExpiry.Set(stream);
            return new ValueTask<SequenceBeginResult>(SequenceBeginResult.Acquired(token));
        }
    }

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        ThrowIfNotPositive(lease);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (!TryGetOwnedStream(streamKey, fencingToken, now, out var stream))
            {
                return new ValueTask<bool>(false);
            }

            stream.RenewSlot(Deadline(now, lease));
            _byExpiry.Set(stream);
            return new ValueTask<bool>(true);
        }
    }

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        ArgumentNullException.ThrowIfNull(response);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ThrowIfNotPositive(retention);
        cancellationToken.ThrowIfCancellationRequested();

        var responseBytes = InMemoryRecord.MeasureResponse(response);
        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (!TryGetOwnedStream(streamKey, fencingToken, now, out var stream))
            {
                return new ValueTask<bool>(false);
            }

            // Making room below cannot touch this stream: streams are never evicted, and its live slot keeps it from expiring.
            var before = stream.SizeBytes;
            stream.PrepareToApply(window);
            _streamBytes += stream.SizeBytes - before;

            // The slot becomes the window entry at no cost, so only the response needs room.
            if (!TryMakeRoom(responseBytes, now))
            {
                // The number must be applied whatever happens to its response, or a retry would run it a second time.
                // Keeping only the status is what the middleware does with a body over its snapshot limit: a retry
                // learns the outcome and nothing runs twice.
                response = new StoredResponse(response.StatusCode, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false);
                responseBytes = 0;
            }

            stream.ApplySlot(response, responseBytes, Deadline(now, retention));
            _streamBytes += responseBytes;
            _byExpiry.Set(stream);
            return new ValueTask<bool>(true);
        }
    }

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        cancellationToken.ThrowIfCancellationRequested();

        lock (_lock)
        {
            var now = _timeProvider.GetTimestamp();
            if (!TryGetOwnedStream(streamKey, fencingToken, now, out var stream))
            {
                return new ValueTask<bool>(false);
            }

            var before = stream.SizeBytes;
            stream.FreeSlot();
            _streamBytes += stream.SizeBytes - before;

            // Without its slot, a stream that never applied anything (or whose retention ran out while the slot held
            // it) is garbage: dropping it now is what expiring it later would do.
            if (stream.IsExpired(now))
            {
                Remove(stream);
            }
            else
            {
                _byExpiry.Set(stream);
            }

            return new ValueTask<bool>(true);
        }
    }

    /// <summary>Removes expired records and streams; runs on the sweep timer.</summary>
    internal void SweepExpired()
    {
        bool more;
        do
        {
            lock (_lock)
            {
                var now = _timeProvider.GetTimestamp();
                var removed = 0;
                while (removed < SweepBatchSize && _byExpiry.TryPeekEarliest(out var earliest) && earliest.IsExpired(now))
                {
                    Remove(earliest);
                    removed++;
                }

                more = removed == SweepBatchSize;
            }
        }
        while (more);
    }

    public void Dispose() => _sweepTimer.Dispose();

    private bool TryGetOwned(string key, long fencingToken, long now, [NotNullWhen(true)] out InMemoryRecord? record)
    {
        // An expired lease is lost even when nobody has taken the key over yet: the same answer a store that deletes
        // expired keys (Redis) gives, so the middleware sees one behaviour whichever store runs.
        return _records.TryGetValue(key, out record)
            && record.FencingToken == fencingToken
            && !record.IsCompleted
            && !record.IsExpired(now);
    }

    private bool TryGetOwnedStream(string streamKey, long fencingToken, long now, [NotNullWhen(true)] out InMemoryStream? stream)
    {
        // A live slot keeps its stream from expiring, so a stream holding one is never stale. Token 0 is a free slot.
        return _streams.TryGetValue(streamKey, out stream)
            && fencingToken != 0
            && stream.SlotToken == fencingToken
            && stream.IsSlotLive(now);
    }

    /// <summary>
    /// Frees space for <paramref name="bytes"/> more; <see langword="false"/> when only in-flight records and streams
    /// would remain.
    /// </summary>
    private bool TryMakeRoom(long bytes, long now)
    {
        if (Fits(bytes))
        {
            return true;
        }

        // Expired records and streams are garbage whatever their state, so they go before anything a client could still replay.
        while (_byExpiry.TryPeekEarliest(out var earliest) && earliest.IsExpired(now))
        {
            Remove(earliest);
            if (Fits(bytes))
            {
                return true;
            }
        }

        // In-flight records are never evicted (their owners would lose the key mid-request), nor are streams: a stream
        // forgotten early starts over at 1 and its numbers run a second time. When the completed records cannot free
        // enough, evicting them would cost their replays and still fail.
        if (_inFlightBytes + _streamBytes + bytes > _sizeLimitBytes)
        {
            return false;
        }

        while (!Fits(bytes))
        {
            Remove(_completionOrder.First!.Value);
        }

        return true;
    }

    private bool Fits(long bytes) => _inFlightBytes + _completedBytes + _streamBytes + bytes <= _sizeLimitBytes;

    private InvalidOperationException Full()
        => new(
            $"The in-memory idempotency store is full: in-flight requests and sequence streams alone hold {_inFlightBytes + _streamBytes} of its {_sizeLimitBytes} bytes " +
            $"({nameof(InMemoryIdempotencyStoreOptions)}.{nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes)}).");

    private void Remove(InMemoryEntry entry)
    {
        _byExpiry.Remove(entry);
        if (entry is InMemoryStream stream)
        {
            _streams.Remove(stream.Key);
            _streamBytes -= stream.SizeBytes;
        }
        else
        {
            var record = (InMemoryRecord)entry;
            _records.Remove(record.Key);
            if (record.CompletionNode is { } node)
            {
                _completionOrder.Remove(node);
                record.CompletionNode = null;
                _completedBytes -= record.SizeBytes;
            }
            else
            {
                _inFlightBytes -= record.SizeBytes;
            }
        }
    }

    private long Deadline(long now, TimeSpan duration)
    {
        // Saturates rather than overflows, so TimeSpan.MaxValue means "never" on any timestamp frequency.
        var deadline = now + ((Int128)duration.Ticks * _timeProvider.TimestampFrequency / TimeSpan.TicksPerSecond);
        return deadline > long.MaxValue ? long.MaxValue : (long)deadline;
    }

    private static void ThrowIfNotPositive(TimeSpan duration, [CallerArgumentExpression(nameof(duration))] string? name = null)
    {
        if (duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, duration, "A lease or retention must be positive.");
        }
    }
}
