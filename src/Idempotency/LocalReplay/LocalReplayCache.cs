using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.Options;

namespace Idempotency.LocalReplay;

/// <summary>
/// The local replay cache (<see cref="LocalReplayCacheOptions"/>): completed records the store answered with, kept in
/// this process so that retries of one operation cost no store round trip. <see cref="Execution.StoreCalls"/> asks it
/// before the store and feeds it the store's answers; the admin endpoints evict what they delete.
/// </summary>
/// <remarks>
/// <para>
/// Lookups take no lock and allocate nothing: one dictionary read and a clock read. Additions and evictions, which
/// follow a store round trip anyway, take one lock that also keeps the count and byte totals exact. Entries leave in
/// the order they came (first in, first out): every entry lives for about the same short time, so the oldest entry is
/// the one closest to its end, and no lookup has to touch shared state to record recency.
/// </para>
/// <para>
/// An entry that left the index (replaced by a fresher answer, or evicted by an admin delete) still counts against
/// the limits until it leaves the eviction order, which it does at once when it is at the head; so the limits bound
/// everything the cache keeps alive, not only what it answers with.
/// </para>
/// </remarks>
internal sealed class LocalReplayCache
{
    // The entry object, its dictionary node, the 64-character key it shares with the request and a queue slot:
    // counted so that a cache of empty bodies is bounded by SizeLimit too.
    internal const int EntryOverheadBytes = 256;

    private readonly ConcurrentDictionary<string, LocalReplayEntry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<LocalReplayEntry> _order = new();
#if NET9_0_OR_GREATER
    private readonly Lock _lock = new();
#else
    private readonly object _lock = new();
#endif
    private readonly TimeProvider _timeProvider;
    private readonly LocalReplayMetrics? _metrics;
    private readonly long _sizeLimit;
    private readonly int _maximumEntries;
    private readonly int _maximumEntryBytes;
    private readonly TimeSpan _expiration;

    // Both under _lock; read without it by the metrics.
    private long _count;
    private long _bytes;

    // Raised by every invalidation, so an answer the store gave before it is not cached after it.
    private long _version;

    public LocalReplayCache(IOptions<IdempotencyOptions> options, TimeProvider timeProvider, IMeterFactory meterFactory)
    {
        var value = options.Value;
        var cache = value.LocalReplayCache;
        _timeProvider = timeProvider;
        _sizeLimit = cache.SizeLimit;
        _maximumEntries = cache.MaximumEntries;
        _maximumEntryBytes = cache.MaximumEntryBytes;
        _expiration = cache.Expiration;
        IsEnabled = AnyPolicyUsesIt(value);

        // An application without a policy that opts in gets no instruments: nothing changes unless it asks.
        if (IsEnabled)
        {
            _metrics = new LocalReplayMetrics(meterFactory, () => Volatile.Read(ref _count), () => Volatile.Read(ref _bytes));
        }
    }

    /// <summary>Whether any policy uses the cache; when none does it stays empty.</summary>
    public bool IsEnabled { get; }

    /// <summary>The live entry for <paramref name="key"/>, or <see langword="null"/>; counted as a hit or a miss of <paramref name="policy"/>.</summary>
    public LocalReplayEntry? Find(string key, string policy)
    {
        if (_entries.TryGetValue(key, out var entry) && _timeProvider.GetTimestamp() < entry.ExpiresAt)
        {
            _metrics?.Lookup(policy, hit: true);
            return entry;
        }

        _metrics?.Lookup(policy, hit: false);
        return null;
    }

    /// <summary>Taken before the store is asked; see <see cref="LocalReplayTicket"/>.</summary>
    public LocalReplayTicket Start() => new(_timeProvider.GetTimestamp(), Volatile.Read(ref _version));

    /// <summary>
    /// Caches the completed record <paramref name="key"/> that the store answered with (after <paramref name="ticket"/>
    /// was taken) for a request with <paramref name="fingerprint"/>, for the cache's expiration or
    /// <paramref name="retention"/>, whichever is shorter, counted from the ticket. A response larger than the entry
    /// limit, or an answer an invalidation may have overtaken, is not cached.
    /// </summary>
    public void Add(in LocalReplayTicket ticket, string key, byte[] fingerprint, StoredResponse response, TimeSpan retention)
    {
        var size = Measure(response);
        if (size > _maximumEntryBytes)
        {
            return;
        }

        var lifetime = retention < _expiration ? retention : _expiration;
        var entry = new LocalReplayEntry(key, fingerprint, response, ticket.Timestamp + ToTimestampTicks(lifetime), size);
        lock (_lock)
        {
            // An admin delete since the store answered may have deleted this very record.
            if (ticket.Version != _version)
            {
                return;
            }

            var now = _timeProvider.GetTimestamp();
            if (now >= entry.ExpiresAt)
            {
                return;
            }

            // Two requests that missed together both bring an answer: the later one is at least as fresh.
            if (_entries.TryRemove(key, out var replaced))
            {
                replaced.Removed = true;
            }

            while (_order.TryPeek(out var head) && (head.Removed || now >= head.ExpiresAt))
            {
                Drop(_order.Dequeue());
            }

            // SizeLimit is at least MaximumEntryBytes (validated), so an empty cache always has room.
            while (_order.Count > 0 && (_order.Count >= _maximumEntries || _bytes + size > _sizeLimit))
            {
                Drop(_order.Dequeue());
            }

            _entries[key] = entry;
            _order.Enqueue(entry);
            _bytes += size;
            _count = _order.Count;
        }
    }

    /// <summary>
    /// Forgets the record <paramref name="key"/> (deleted in the store), and makes sure no answer the store gave before
    /// now is cached afterwards.
    /// </summary>
    public void Invalidate(string key)
    {
        lock (_lock)
        {
            Volatile.Write(ref _version, _version + 1);
            if (_entries.TryRemove(key, out var entry))
            {
                entry.Removed = true;
            }
        }
    }

    /// <summary>
    /// The bytes <paramref name="response"/> keeps alive: the whole buffer its body is a slice of (a store may hand out a
    /// slice of the snapshot it read), its headers, and the entry's own overhead.
    /// </summary>
    internal static long Measure(StoredResponse response)
    {
        var body = response.Body;
        long buffer = MemoryMarshal.TryGetArray(body, out var segment) && segment.Array is { } array ? array.Length : body.Length;
        return InMemoryRecord.MeasureResponse(response) - body.Length + buffer + EntryOverheadBytes;
    }

    private static bool AnyPolicyUsesIt(IdempotencyOptions options)
    {
        if (options.DefaultPolicy.UseLocalReplayCache)
        {
            return true;
        }

        foreach (var policy in options.Policies.Values)
        {
            if (policy.UseLocalReplayCache)
            {
                return true;
            }
        }

        return false;
    }

    private void Drop(LocalReplayEntry entry)
    {
        if (!entry.Removed)
        {
            _entries.TryRemove(new KeyValuePair<string, LocalReplayEntry>(entry.Key, entry));
            entry.Removed = true;
        }

        _bytes -= entry.Size;
        _count = _order.Count;
    }

    private long ToTimestampTicks(TimeSpan duration) => (long)(duration.TotalSeconds * _timeProvider.TimestampFrequency);
}
