using System.Diagnostics.CodeAnalysis;

namespace Idempotency.Storage.InMemory;

/// <summary>
/// Every live record and stream of the in-memory store by expiry, so expired ones are found without scanning the store:
/// two binary min-heaps (<see cref="ExpiryHeap"/>), one of entries held by a lease (in-flight records), one of entries
/// kept for a retention (completed records, streams).
/// </summary>
/// <remarks>
/// <para>
/// One heap of both cost a first execution two walks of its whole height: a begin's lease ends long before the
/// retained records around it, so it rose to near the root, and its completion (a day's retention, later than any)
/// sank it back to a leaf, each step a likely cache miss in a store of a million records, all under the store's
/// lock. Apart, the lease heap holds only the requests running now, and a completion enters the retention heap at its
/// end: retentions are a few fixed lengths, so a new one is rarely earlier than its parent and stops at once.
/// </para>
/// <para>
/// Invariant the store keeps: after every change of an entry's <see cref="InMemoryEntry.ExpiresAt"/> or of
/// <see cref="InMemoryEntry.IsLeased"/>, it calls <see cref="Set"/> (or <see cref="Remove"/>) before the next call on
/// the index. Not thread-safe: used under the store's lock.
/// </para>
/// </remarks>
internal sealed class ExpiryIndex
{
    private readonly ExpiryHeap _leased = new(negative: false);
    private readonly ExpiryHeap _retained = new(negative: true);

    /// <summary>The entries in the index.</summary>
    public int Count => _leased.Count + _retained.Count;

    /// <summary>The length of the backing arrays; for tests.</summary>
    internal int Capacity => _leased.Capacity + _retained.Capacity;

    /// <summary>Adds <paramref name="entry"/>, or moves it to its current <see cref="InMemoryEntry.ExpiresAt"/>.</summary>
    public void Set(InMemoryEntry entry)
    {
        var (heap, other) = entry.IsLeased ? (_leased, _retained) : (_retained, _leased);
        if (other.Contains(entry))
        {
            other.Remove(entry);
        }

        heap.Set(entry);
    }

    /// <summary>Takes <paramref name="entry"/> out. Does nothing for an entry not in the index.</summary>
    public void Remove(InMemoryEntry entry)
    {
        if (_leased.Contains(entry))
        {
            _leased.Remove(entry);
        }
        else if (_retained.Contains(entry))
        {
            _retained.Remove(entry);
        }
    }

    /// <summary>The first inconsistency of either heap (see <see cref="ExpiryHeap.FindError"/>); for tests.</summary>
    internal string? FindError(Func<InMemoryEntry, bool> isLive) => _leased.FindError(isLive) ?? _retained.FindError(isLive);

    /// <summary>The entry that expires first.</summary>
    public bool TryPeekEarliest([NotNullWhen(true)] out InMemoryEntry? entry)
    {
        var leased = _leased.TryPeekEarliest(out var leasedEntry, out var leasedExpiry);
        var retained = _retained.TryPeekEarliest(out var retainedEntry, out var retainedExpiry);
        entry = !retained || (leased && leasedExpiry <= retainedExpiry) ? leasedEntry : retainedEntry;
        return entry is not null;
    }
}
