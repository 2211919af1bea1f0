using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
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
/// <para>
/// Capacity (docs/contract.md, store capacity): a record or stream within its retention is never dropped for room unless
/// <see cref="InMemoryIdempotencyStoreOptions.EvictLiveRecordsWhenFull"/> says so. A begin that finds no room, in the
/// store or in its scope's quota, throws <see cref="IdempotencyStoreCapacityException"/>; a completion that finds none
/// keeps the status without the body.
/// </para>
/// </remarks>
internal sealed partial class InMemoryIdempotencyStore : IIdempotencySequenceStore, IDisposable
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

    // What each scope with live entries holds, by the scope partition of its keys: the per-scope quota's accounting.
    private readonly Dictionary<string, ScopeUsage> _scopes = new(StringComparer.Ordinal);
#if NET9_0_OR_GREATER
    private readonly Dictionary<string, ScopeUsage>.AlternateLookup<ReadOnlySpan<char>> _scopesByPartition;
#endif

    // Completed records, oldest completion first: the eviction order, kept only when live records may be evicted.
    private readonly LinkedList<InMemoryRecord> _completionOrder = new();

    private readonly TimeProvider _timeProvider;
    private readonly long _sizeLimitBytes;
    private readonly long _maxBytesPerScope;
    private readonly bool _evictLiveRecords;
    private readonly InMemoryStoreMetrics _metrics;
    private readonly ITimer _sweepTimer;

    // Every record and stream counts against the limit; completed records are the only ones eviction may take.
    private long _sizeBytes;
    private long _completedBytes;
    private long _lastFencingToken;

    /// <param name="options">The size limit, per-scope quota, eviction choice and sweep interval.</param>
    /// <param name="timeProvider">The clock of leases, retention and the sweep.</param>
    /// <param name="meterFactory">Where the store's counters go; without one (a store built by hand) it has a meter of its own.</param>
    public InMemoryIdempotencyStore(IOptions<InMemoryIdempotencyStoreOptions> options, TimeProvider timeProvider, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);

        var settings = options.Value;
        _timeProvider = timeProvider;
        _sizeLimitBytes = settings.SizeLimitBytes;
        // A quota as large as the store is no quota: the store is full before the scope could pass it, and the
        // refusal should say so.
        _maxBytesPerScope = settings.EffectiveMaxBytesPerScope < _sizeLimitBytes ? settings.EffectiveMaxBytesPerScope : long.MaxValue;
        _evictLiveRecords = settings.EvictLiveRecordsWhenFull;
        _metrics = new InMemoryStoreMetrics(meterFactory);
#if NET9_0_OR_GREATER
        _scopesByPartition = _scopes.GetAlternateLookup<ReadOnlySpan<char>>();
#endif
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
                return _sizeBytes;
            }
        }
    }

    /// <summary>The bytes accounted against the quota of <paramref name="key"/>'s scope; for tests.</summary>
    internal long ScopeBytes(string key)
    {
        lock (_lock)
        {
            return FindScope(key)?.Bytes ?? 0;
        }
    }

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfNotPositive(lease);
        cancellationToken.ThrowIfCancellationRequested();

        var fingerprintSpan = fingerprint.Span;
        var size = InMemoryRecord.MeasureInFlight(key, fingerprintSpan.Length, _evictLiveRecords);
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

            if (!TryMakeRoom(null, key, size, now, out var refusal))
            {
                throw Refuse(refusal, null, key, now, stream: false);
            }

            // Copied because the caller's buffer may be pooled and reused as soon as this call returns.
            var record = new InMemoryRecord(key, fingerprintSpan.ToArray(), ++_lastFencingToken, Deadline(now, lease), size);
            _records.Add(key, record);
            _byExpiry.Set(record);
            Attach(record);
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

            if (!TryMakeRoom(record, key, responseBytes, now, out var refusal))
            {
                // Dropping the record would let a retry run the operation a second time, and throwing would leave it
                // in flight until its lease ends, with the same result. Keeping only the status is what the middleware
                // does with a body over its snapshot limit: a retry learns the outcome and nothing runs twice.
                _metrics.BodyDropped(refusal, stream: false);
                response = new StoredResponse(response.StatusCode, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false);
                responseBytes = 0;
            }

            record.Complete(response, responseBytes, Deadline(now, retention));
            Charge(record, responseBytes);
            _completedBytes += record.SizeBytes;
            var usage = record.Scope!;
            usage.CompletedBytes += record.SizeBytes;
            _byExpiry.Set(record);
            if (_evictLiveRecords)
            {
                record.CompletionNode = _completionOrder.AddLast(record);
                record.ScopeCompletionNode = (usage.CompletionOrder ??= new()).AddLast(record);
            }

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

            // The decision order of IIdempotencySequenceStore.TryBeginSequenceAsync, step by step.
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
            if (!TryMakeRoom(stream, streamKey, needed, now, out var refusal))
            {
                throw Refuse(refusal, stream, streamKey, now, stream: true);
            }

            var token = ++_lastFencingToken;
            if (stream is null)
            {
                stream = new InMemoryStream(streamKey);
                _streams.Add(streamKey, stream);
                Attach(stream);
            }

            var before = stream.SizeBytes;

            // Copied because the caller's buffer may be pooled and reused as soon as this call returns.
            stream.TakeSlot(epoch, sequenceNumber, fingerprintSpan.ToArray(), token, Deadline(now, lease));
            Charge(stream, stream.SizeBytes - before);
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
            Charge(stream, stream.SizeBytes - before);

            // The slot becomes the window entry at no cost, so only the response needs room.
            if (!TryMakeRoom(stream, streamKey, responseBytes, now, out var refusal))
            {
                // The number must be applied whatever happens to its response, or a retry would run it a second time.
                // Keeping only the status is what the middleware does with a body over its snapshot limit: a retry
                // learns the outcome and nothing runs twice.
                _metrics.BodyDropped(refusal, stream: true);
                response = new StoredResponse(response.StatusCode, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false);
                responseBytes = 0;
            }

            before = stream.SizeBytes;
            stream.ApplySlot(response, responseBytes, Deadline(now, retention));
            Charge(stream, stream.SizeBytes - before);
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
            Charge(stream, stream.SizeBytes - before);

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

    public void Dispose()
    {
        _sweepTimer.Dispose();
        _metrics.Dispose();
    }

    /// <summary>
    /// Recounts every total and every scope's usage from the entries themselves and describes the first difference
    /// from the running counters; <see langword="null"/> when they agree. For tests: a counter that leaks in some
    /// transition shows up here long before it would fill a quota.
    /// </summary>
    internal string? FindAccountingError()
    {
        lock (_lock)
        {
            var scopes = new Dictionary<ScopeUsage, (int Entries, long Bytes, long CompletedBytes, int Evictable)>();
            long total = 0;
            long completed = 0;
            var evictable = 0;
            foreach (var record in _records.Values)
            {
                total += record.SizeBytes;
                if (record.IsCompleted)
                {
                    completed += record.SizeBytes;
                    evictable++;
                }

                if (Recount(scopes, record) is { } error)
                {
                    return error;
                }
            }

            foreach (var stream in _streams.Values)
            {
                total += stream.SizeBytes;
                if (Recount(scopes, stream) is { } error)
                {
                    return error;
                }
            }

            if (total != _sizeBytes || completed != _completedBytes)
            {
                return $"entries hold {total} bytes ({completed} completed), the counters say {_sizeBytes} ({_completedBytes})";
            }

            if (_byExpiry.Count != _records.Count + _streams.Count)
            {
                return $"the expiry index holds {_byExpiry.Count} entries, the store {_records.Count + _streams.Count}";
            }

            // With the counts equal, every held entry filed exactly once at its own position means none is missing.
            if (_byExpiry.FindError(IsHeld) is { } misfiled)
            {
                return misfiled;
            }

            if (_completionOrder.Count != (_evictLiveRecords ? evictable : 0))
            {
                return $"the eviction order holds {_completionOrder.Count} records, {evictable} are completed";
            }

            if (scopes.Count != _scopes.Count)
            {
                return $"{scopes.Count} scopes have entries, {_scopes.Count} are counted";
            }

            foreach (var (usage, actual) in scopes)
            {
                if (usage.Entries != actual.Entries || usage.Bytes != actual.Bytes || usage.CompletedBytes != actual.CompletedBytes
                    || (usage.CompletionOrder?.Count ?? 0) != actual.Evictable)
                {
                    return $"scope {usage.Partition} holds {actual.Entries} entries of {actual.Bytes} bytes ({actual.CompletedBytes} completed, {actual.Evictable} evictable), " +
                        $"its usage says {usage.Entries} of {usage.Bytes} ({usage.CompletedBytes}, {usage.CompletionOrder?.Count ?? 0})";
                }
            }

            return null;
        }
    }

    private bool IsHeld(InMemoryEntry entry)
        => entry is InMemoryStream stream
            ? _streams.TryGetValue(stream.Key, out var held) && ReferenceEquals(held, stream)
            : _records.TryGetValue(entry.Key, out var record) && ReferenceEquals(record, entry);

    private string? Recount(Dictionary<ScopeUsage, (int Entries, long Bytes, long CompletedBytes, int Evictable)> scopes, InMemoryEntry entry)
    {
        if (entry.Scope is not { } usage || FindScope(entry.Key) != usage)
        {
            return $"entry {entry.Key} is not attached to its scope's usage";
        }

        var completed = entry is InMemoryRecord { IsCompleted: true };
        scopes.TryGetValue(usage, out var counted);
        scopes[usage] = (
            counted.Entries + 1,
            counted.Bytes + entry.SizeBytes,
            counted.CompletedBytes + (completed ? entry.SizeBytes : 0),
            counted.Evictable + (completed && _evictLiveRecords ? 1 : 0));
        return null;
    }

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
    /// Frees space for <paramref name="bytes"/> more in the store and in the scope of <paramref name="key"/> (whose entry
    /// <paramref name="owner"/> grows, or a new entry when it is <see langword="null"/>); on <see langword="false"/>,
    /// <paramref name="refusal"/> says which limit is in the way and nothing live was removed.
    /// </summary>
    private bool TryMakeRoom(InMemoryEntry? owner, string key, long bytes, long now, out StoreCapacityReason refusal)
    {
        refusal = default;
        if (bytes <= 0 || (ScopeFits(owner, key, bytes) && Fits(bytes)))
        {
            return true;
        }

        // Expired records and streams are garbage whatever their state or scope, so they go before anything a client
        // could still replay. The owner is live (a held lease or slot), so it is never among them.
        while (_byExpiry.TryPeekEarliest(out var earliest) && earliest.IsExpired(now))
        {
            Remove(earliest);
            if (ScopeFits(owner, key, bytes) && Fits(bytes))
            {
                return true;
            }
        }

        // Only by the documented opt-in are live completed records evicted: one dropped here runs again on its retry.
        // A scope at its quota makes room from its own records only, never another scope's; a full store from the
        // oldest completions of any scope. In-flight records (their owners would lose the key mid-request) and streams
        // (one forgotten early starts over at 1) are never evicted. Both limits are checked before anything goes, so
        // no record is evicted for a request that is refused anyway.
        var usage = owner?.Scope ?? FindScope(key);
        if (!ScopeFits(owner, key, bytes) && !(_evictLiveRecords && usage is not null && usage.Bytes - usage.CompletedBytes + bytes <= _maxBytesPerScope))
        {
            refusal = StoreCapacityReason.ScopeQuotaExceeded;
            return false;
        }

        if (!(_evictLiveRecords && _sizeBytes - _completedBytes + bytes <= _sizeLimitBytes) && !Fits(bytes))
        {
            refusal = StoreCapacityReason.StoreFull;
            return false;
        }

        while (!ScopeFits(owner, key, bytes))
        {
            Evict(usage!.CompletionOrder!.First!.Value);
        }

        while (!Fits(bytes))
        {
            Evict(_completionOrder.First!.Value);
        }

        return true;
    }

    private void Evict(InMemoryRecord record)
    {
        Remove(record);
        _metrics.Evicted();
    }

    private bool Fits(long bytes) => _sizeBytes + bytes <= _sizeLimitBytes;

    private bool ScopeFits(InMemoryEntry? owner, string key, long bytes)
        => ((owner?.Scope ?? FindScope(key))?.Bytes ?? 0) + bytes <= _maxBytesPerScope;

    private IdempotencyStoreCapacityException Refuse(StoreCapacityReason reason, InMemoryEntry? owner, string key, long now, bool stream)
    {
        _metrics.Rejected(reason, stream);
        var message = reason == StoreCapacityReason.StoreFull
            ? $"The in-memory idempotency store is full: records and streams within their retention hold {_sizeBytes} of its {_sizeLimitBytes} bytes " +
              $"({nameof(InMemoryIdempotencyStoreOptions)}.{nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes)})."
            : $"The scope's records and streams within their retention hold {(owner?.Scope ?? FindScope(key))?.Bytes ?? 0} of the {_maxBytesPerScope} bytes one scope may hold " +
              $"({nameof(InMemoryIdempotencyStoreOptions)}.{nameof(InMemoryIdempotencyStoreOptions.MaxBytesPerScope)}).";
        return new IdempotencyStoreCapacityException(reason, RetryAfter(now), message);
    }

    /// <summary>
    /// When the earliest record or stream expires: nothing can give room back by expiring sooner (a release can, so
    /// this is a hint), and it is a lower bound for a scope's own entries too. At least a second, at most a minute, so
    /// a client keeps checking rather than giving up on a long retention.
    /// </summary>
    private TimeSpan RetryAfter(long now)
    {
        var seconds = _byExpiry.TryPeekEarliest(out var earliest)
            ? (earliest.ExpiresAt - (double)now) / _timeProvider.TimestampFrequency
            : 0;
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 60));
    }

    private ScopeUsage? FindScope(string key)
    {
        var partition = RecordKey.ScopePartition(key);
#if NET9_0_OR_GREATER
        return _scopesByPartition.TryGetValue(partition, out var usage) ? usage : null;
#else
        return _scopes.TryGetValue(partition.ToString(), out var usage) ? usage : null;
#endif
    }

    /// <summary>Counts a new entry, already in its dictionary, against its scope and the store.</summary>
    private void Attach(InMemoryEntry entry)
    {
        var usage = FindScope(entry.Key);
        if (usage is null)
        {
            usage = new ScopeUsage(RecordKey.ScopePartition(entry.Key).ToString());
            _scopes.Add(usage.Partition, usage);
        }

        entry.Scope = usage;
        usage.Entries++;
        Charge(entry, entry.SizeBytes);
    }

    /// <summary>Counts <paramref name="delta"/> bytes more (or fewer) of <paramref name="entry"/> against the store and its scope.</summary>
    private void Charge(InMemoryEntry entry, long delta)
    {
        _sizeBytes += delta;
        entry.Scope!.Bytes += delta;
    }

    private void Remove(InMemoryEntry entry)
    {
        _byExpiry.Remove(entry);
        if (entry is InMemoryStream stream)
        {
            _streams.Remove(stream.Key);
        }
        else
        {
            var record = (InMemoryRecord)entry;
            _records.Remove(record.Key);
            if (record.IsCompleted)
            {
                _completedBytes -= record.SizeBytes;
                record.Scope!.CompletedBytes -= record.SizeBytes;
            }

            if (record.CompletionNode is { } node)
            {
                _completionOrder.Remove(node);
                record.CompletionNode = null;
                record.Scope!.CompletionOrder!.Remove(record.ScopeCompletionNode!);
                record.ScopeCompletionNode = null;
            }
        }

        Charge(entry, -entry.SizeBytes);
        var usage = entry.Scope!;
        if (--usage.Entries == 0)
        {
            // Only scopes with live entries are kept, so callers who come and go do not grow the table.
            _scopes.Remove(usage.Partition);
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
