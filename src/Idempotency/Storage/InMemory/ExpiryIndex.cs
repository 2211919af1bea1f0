using System.Diagnostics.CodeAnalysis;

namespace Idempotency.Storage.InMemory;

/// <summary>
/// Every live record and stream of the in-memory store by expiry, so expired ones are found without scanning the store:
/// a binary min-heap in one array whose entries know their own position.
/// </summary>
/// <remarks>
/// <para>
/// A balanced tree (the earlier <c>SortedSet</c>) allocated a node per entry and paid a removal and an insertion with
/// rebalancing every time an entry's expiry moved, which happens two or more times per request (begin, complete,
/// renewals). Here an entry's position (<see cref="InMemoryEntry.HeapIndex"/>) lets a moved expiry be sifted in place
/// and a removal swap in the last item, each O(log n) with no allocation and nothing left behind: the index holds
/// exactly the live entries, so it never keeps a removed response alive nor needs rebuilding under the store's lock.
/// </para>
/// <para>
/// Invariant the store keeps: after every change of an entry's <see cref="InMemoryEntry.ExpiresAt"/>, it calls
/// <see cref="Set"/> (or <see cref="Remove"/>) before the next call on the index. Not thread-safe: used under the
/// store's lock.
/// </para>
/// </remarks>
internal sealed class ExpiryIndex
{
    private const int MinimumCapacity = 16;

    // Each entry's expiry is copied next to it so that sifting compares within this array instead of chasing pointers.
    private (InMemoryEntry Entry, long ExpiresAt)[] _heap = new (InMemoryEntry, long)[MinimumCapacity];
    private int _count;

    /// <summary>The entries in the index.</summary>
    public int Count => _count;

    /// <summary>The length of the backing array; for tests.</summary>
    internal int Capacity => _heap.Length;

    /// <summary>Adds <paramref name="entry"/>, or moves it to its current <see cref="InMemoryEntry.ExpiresAt"/>.</summary>
    public void Set(InMemoryEntry entry)
    {
        var index = entry.HeapIndex;
        if (index < 0)
        {
            if (_count == _heap.Length)
            {
                Array.Resize(ref _heap, _heap.Length * 2);
            }

            index = _count++;
        }

        _heap[index] = (entry, entry.ExpiresAt);
        Restore(index);
    }

    /// <summary>Takes <paramref name="entry"/> out. Does nothing for an entry not in the index.</summary>
    public void Remove(InMemoryEntry entry)
    {
        var index = entry.HeapIndex;
        if (index < 0)
        {
            return;
        }

        entry.HeapIndex = -1;
        var last = _heap[--_count];
        _heap[_count] = default;
        if (index < _count)
        {
            _heap[index] = last;
            Restore(index);
        }

        // A store that once held many more entries gives the array back as it empties (never below a quarter full, so
        // growing and shrinking cannot alternate on every call).
        if (_heap.Length > MinimumCapacity && _count < _heap.Length / 4)
        {
            Array.Resize(ref _heap, Math.Max(MinimumCapacity, _heap.Length / 2));
        }
    }

    /// <summary>The entry that expires first.</summary>
    public bool TryPeekEarliest([NotNullWhen(true)] out InMemoryEntry? entry)
    {
        entry = _count > 0 ? _heap[0].Entry : null;
        return entry is not null;
    }

    /// <summary>Moves the item just written at <paramref name="index"/> to where it belongs, and records its position.</summary>
    private void Restore(int index)
    {
        if (!SiftUp(index))
        {
            SiftDown(index);
        }
    }

    /// <summary>Moves the item at <paramref name="index"/> towards the root while it expires before its parent.</summary>
    /// <returns>Whether it moved.</returns>
    private bool SiftUp(int index)
    {
        var item = _heap[index];
        var start = index;
        while (index > 0)
        {
            var parent = (index - 1) >> 1;
            if (_heap[parent].ExpiresAt <= item.ExpiresAt)
            {
                break;
            }

            Place(index, _heap[parent]);
            index = parent;
        }

        Place(index, item);
        return index != start;
    }

    private void SiftDown(int index)
    {
        var item = _heap[index];
        while (true)
        {
            var child = (2 * index) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && _heap[child + 1].ExpiresAt < _heap[child].ExpiresAt)
            {
                child++;
            }

            if (item.ExpiresAt <= _heap[child].ExpiresAt)
            {
                break;
            }

            Place(index, _heap[child]);
            index = child;
        }

        Place(index, item);
    }

    private void Place(int index, (InMemoryEntry Entry, long ExpiresAt) item)
    {
        _heap[index] = item;
        item.Entry.HeapIndex = index;
    }
}
