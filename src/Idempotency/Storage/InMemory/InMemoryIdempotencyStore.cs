using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Idempotency.Storage.InMemory;

/// <summary>The default store: records of one process, in memory, expiring by <see cref="TimeProvider"/>.</summary>
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

    // Every live record ordered by expiry, so expired ones are found without scanning the whole store.
    private readonly SortedSet<InMemoryRecord> _byExpiry = new(ExpiryOrder.Instance);

    // Completed records, oldest completion first: the eviction order once expired records are gone.
    private readonly LinkedList<InMemoryRecord> _completionOrder = new();

    private readonly TimeProvider _timeProvider;
    private readonly long _sizeLimitBytes;
    private readonly ITimer _sweepTimer;
    private long _inFlightBytes;
    private long _completedBytes;
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

    /// <summary>The bytes accounted against the size limit; for tests.</summary>
    internal long SizeBytes
    {
        get
        {
            lock (_lock)
            {
                return _inFlightBytes + _completedBytes;
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
                throw new InvalidOperationException(
                    $"The in-memory idempotency store is full: in-flight requests alone hold {_inFlightBytes} of its {_sizeLimitBytes} bytes " +
                    $"({nameof(InMemoryIdempotencyStoreOptions)}.{nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes)}).");
            }

            // Copied because the caller's buffer may be pooled and reused as soon as this call returns.
            var record = new InMemoryRecord(key, fingerprintSpan.ToArray(), ++_lastFencingToken, Deadline(now, lease));
            _records.Add(key, record);
            _byExpiry.Add(record);
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

            _byExpiry.Remove(record);
            record.ExpiresAt = Deadline(now, lease);
            _byExpiry.Add(record);
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

            _byExpiry.Remove(record);
            _inFlightBytes -= record.SizeBytes;
            record.Complete(response, responseBytes, Deadline(now, retention));
            _completedBytes += record.SizeBytes;
            _byExpiry.Add(record);
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

    /// <summary>Removes expired records; runs on the sweep timer.</summary>
    internal void SweepExpired()
    {
        bool more;
        do
        {
            lock (_lock)
            {
                var now = _timeProvider.GetTimestamp();
                var removed = 0;
                while (removed < SweepBatchSize && _byExpiry.Count > 0 && _byExpiry.Min!.IsExpired(now))
                {
                    Remove(_byExpiry.Min);
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

    /// <summary>Frees space for <paramref name="bytes"/> more; <see langword="false"/> when only in-flight records would remain.</summary>
    private bool TryMakeRoom(long bytes, long now)
    {
        if (Fits(bytes))
        {
            return true;
        }

        // Expired records are garbage whatever their state, so they go before anything a client could still replay.
        while (_byExpiry.Count > 0 && _byExpiry.Min!.IsExpired(now))
        {
            Remove(_byExpiry.Min);
            if (Fits(bytes))
            {
                return true;
            }
        }

        // In-flight records are never evicted (their owners would lose the key mid-request); when the completed
        // records cannot free enough, evicting them would cost their replays and still fail.
        if (_inFlightBytes + bytes > _sizeLimitBytes)
        {
            return false;
        }

        while (!Fits(bytes))
        {
            Remove(_completionOrder.First!.Value);
        }

        return true;
    }

    private bool Fits(long bytes) => _inFlightBytes + _completedBytes + bytes <= _sizeLimitBytes;

    private void Remove(InMemoryRecord record)
    {
        _records.Remove(record.Key);
        _byExpiry.Remove(record);
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

    private sealed class ExpiryOrder : IComparer<InMemoryRecord>
    {
        public static readonly ExpiryOrder Instance = new();

        // Fencing tokens are unique per record, so no two records compare equal and the set never drops one.
        public int Compare(InMemoryRecord? x, InMemoryRecord? y)
        {
            var order = x!.ExpiresAt.CompareTo(y!.ExpiresAt);
            return order != 0 ? order : x.FencingToken.CompareTo(y.FencingToken);
        }
    }

    public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken) => throw new NotImplementedException();
}
