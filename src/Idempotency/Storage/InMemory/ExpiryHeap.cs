using System.Diagnostics.CodeAnalysis;

namespace Idempotency.Storage.InMemory;

/// <summary>
/// A binary min-heap of entries by expiry in one array, whose entries know their own position
/// (<see cref="InMemoryEntry.HeapIndex"/>), so a moved expiry is sifted in place and a removal swaps in the last item,
/// each O(log n) with no allocation. Two heaps share that one field: one stores positions as they are, the other as
/// <c>-position - 2</c>, and <c>-1</c> is "in neither". Not thread-safe.
/// </summary>
internal sealed class ExpiryHeap
{
    private const int MinimumCapacity = 8;

    private readonly bool _negative;

    // Each entry's expiry is copied next to it so that sifting compares within this array instead of chasing pointers.
    private (InMemoryEntry Entry, long ExpiresAt)[] _heap = new (InMemoryEntry, long)[MinimumCapacity];
    private int _count;

    /// <param name="negative">Whether this heap stores positions as <c>-position - 2</c>.</param>
    public ExpiryHeap(bool negative)
    {
        _negative = negative;
    }

    public int Count => _count;

    public int Capacity => _heap.Length;

    public bool Contains(InMemoryEntry entry) => _negative ? entry.HeapIndex <= -2 : entry.HeapIndex >= 0;

    /// <summary>Adds <paramref name="entry"/>, or moves it to its current expiry; it must not be in the other heap.</summary>
    public void Set(InMemoryEntry entry)
    {
        int index;
        if (Contains(entry))
        {
            index = Position(entry);
        }
        else
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

    /// <summary>Takes <paramref name="entry"/> out; it must be in this heap.</summary>
    public void Remove(InMemoryEntry entry)
    {
        var index = Position(entry);
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

    public bool TryPeekEarliest([NotNullWhen(true)] out InMemoryEntry? entry, out long expiresAt)
    {
        if (_count == 0)
        {
            entry = null;
            expiresAt = long.MaxValue;
            return false;
        }

        (entry, expiresAt) = _heap[0];
        return true;
    }

    /// <summary>
    /// Describes the first item out of place: an entry whose position or copied expiry is not its own, one of the other
    /// heap's kind, one <paramref name="isLive"/> says the store no longer holds, or one that expires before its
    /// parent; <see langword="null"/> when there is none. For tests.
    /// </summary>
    internal string? FindError(Func<InMemoryEntry, bool> isLive)
    {
        for (var index = 0; index < _count; index++)
        {
            var (entry, expiresAt) = _heap[index];
            if (!Contains(entry) || Position(entry) != index)
            {
                return $"the entry at {index} of the {Kind} heap records position {entry.HeapIndex}";
            }

            if (expiresAt != entry.ExpiresAt || entry.IsLeased == _negative)
            {
                return $"the entry at {index} of the {Kind} heap is filed under {expiresAt}, expires at {entry.ExpiresAt} and is {(entry.IsLeased ? "leased" : "retained")}";
            }

            if (!isLive(entry))
            {
                return $"the entry at {index} of the {Kind} heap is not in the store";
            }

            if (index > 0 && _heap[(index - 1) >> 1].ExpiresAt > expiresAt)
            {
                return $"the entry at {index} of the {Kind} heap expires before its parent";
            }
        }

        return null;
    }

    private string Kind => _negative ? "retention" : "lease";

    private int Position(InMemoryEntry entry) => _negative ? -entry.HeapIndex - 2 : entry.HeapIndex;

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
        item.Entry.HeapIndex = _negative ? -index - 2 : index;
    }
}
