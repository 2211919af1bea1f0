using System.Diagnostics.CodeAnalysis;

namespace Idempotency.Storage.InMemory;

/// <summary>
/// Every live record and stream of the in-memory store by expiry, so expired ones are found without scanning the store:
/// an array-backed min-heap with lazy deletion.
/// </summary>
/// <remarks>
/// <para>
/// A balanced tree (the earlier <c>SortedSet</c>) allocated a node per entry and paid a removal and an insertion with
/// rebalancing every time an entry's expiry moved, which happens two or more times per request (begin, complete,
/// renewals). Here moving an expiry pushes one more item and leaves the old one behind, marked stale by a version
/// stamp; stale items are dropped when they reach the top, and the heap is rebuilt from its valid items once stale
/// ones outnumber them, so it stays within twice the live entries (plus a constant) at amortized O(1) extra cost.
/// </para>
/// <para>
/// Invariant the store keeps: after every change of an entry's <see cref="InMemoryEntry.ExpiresAt"/>, it calls
/// <see cref="Set"/> before the next query, so an entry's one valid item is filed under its current expiry.
/// A removed entry can stay reachable from stale items until they are dropped, which is why the store empties an
/// entry (<see cref="InMemoryEntry.Discard"/>) when it removes it. Not thread-safe: used under the store's lock.
/// </para>
/// </remarks>
internal sealed class ExpiryIndex
{
    // Below this many stale items a rebuild is not worth its O(n); it also keeps small stores from rebuilding often.
    private const int StaleSlack = 1024;

    private readonly PriorityQueue<(InMemoryEntry Entry, int Version), long> _heap = new();
    private int _liveCount;

    /// <summary>The entries in the index (live ones, not heap items).</summary>
    public int Count => _liveCount;

    /// <summary>Heap items including stale ones; for tests.</summary>
    internal int ItemCount => _heap.Count;

    /// <summary>Adds <paramref name="entry"/>, or re-files it under its current <see cref="InMemoryEntry.ExpiresAt"/>.</summary>
    public void Set(InMemoryEntry entry)
    {
        if (!entry.IsIndexed)
        {
            entry.IsIndexed = true;
            _liveCount++;
        }

        // The new version makes any item filed before it stale.
        _heap.Enqueue((entry, ++entry.IndexVersion), entry.ExpiresAt);
        if (_heap.Count > (2 * _liveCount) + StaleSlack)
        {
            Rebuild();
        }
    }

    /// <summary>Takes <paramref name="entry"/> out; its items become stale. Does nothing for an entry not in the index.</summary>
    public void Remove(InMemoryEntry entry)
    {
        if (!entry.IsIndexed)
        {
            return;
        }

        entry.IsIndexed = false;
        entry.IndexVersion++;
        _liveCount--;
    }

    /// <summary>The entry that expires first, dropping the stale items above it.</summary>
    public bool TryPeekEarliest([NotNullWhen(true)] out InMemoryEntry? entry)
    {
        while (_heap.TryPeek(out var item, out _))
        {
            if (IsValid(item))
            {
                entry = item.Entry;
                return true;
            }

            _heap.Dequeue();
        }

        entry = null;
        return false;
    }

    private static bool IsValid((InMemoryEntry Entry, int Version) item)
        => item.Entry.IsIndexed && item.Entry.IndexVersion == item.Version;

    private void Rebuild()
    {
        var valid = new ((InMemoryEntry Entry, int Version) Element, long Priority)[_liveCount];
        var count = 0;
        foreach (var (element, priority) in _heap.UnorderedItems)
        {
            if (IsValid(element))
            {
                valid[count++] = (element, priority);
            }
        }

        _heap.Clear();
        _heap.EnqueueRange(new ArraySegment<((InMemoryEntry Entry, int Version) Element, long Priority)>(valid, 0, count));
        _heap.TrimExcess();
    }
}
