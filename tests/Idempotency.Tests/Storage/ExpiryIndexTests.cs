using Idempotency.Storage;
using Idempotency.Storage.InMemory;

namespace Idempotency.Tests.Storage;

/// <summary>The in-memory store's expiry heap: earliest first, entries moved and removed in place.</summary>
public sealed class ExpiryIndexTests
{
    private long _nextToken;

    [Fact]
    public void The_earliest_entry_comes_first_whatever_the_order_it_was_added_in()
    {
        var index = new ExpiryIndex();
        var late = Record(expiresAt: 30);
        var early = Record(expiresAt: 10);
        var middle = Record(expiresAt: 20);
        index.Set(late);
        index.Set(early);
        index.Set(middle);

        Assert.Equal(3, index.Count);
        Assert.Same(early, Earliest(index));
        index.Remove(early);
        Assert.Same(middle, Earliest(index));
        index.Remove(middle);
        Assert.Same(late, Earliest(index));
        index.Remove(late);
        Assert.False(index.TryPeekEarliest(out _));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void A_refiled_entry_is_found_under_its_new_expiry_only()
    {
        var index = new ExpiryIndex();
        var renewed = Record(expiresAt: 10);
        var other = Record(expiresAt: 20);
        index.Set(renewed);
        index.Set(other);

        renewed.ExtendLease(30);
        index.Set(renewed);

        Assert.Equal(2, index.Count);
        Assert.Same(other, Earliest(index));
        index.Remove(other);
        Assert.Same(renewed, Earliest(index));
        index.Remove(renewed);
        Assert.False(index.TryPeekEarliest(out _));
    }

    [Fact]
    public void A_removed_entry_is_never_returned_and_removing_twice_changes_nothing()
    {
        var index = new ExpiryIndex();
        var removed = Record(expiresAt: 10);
        var kept = Record(expiresAt: 20);
        index.Set(removed);
        index.Set(kept);

        index.Remove(removed);
        index.Remove(removed);

        Assert.Equal(1, index.Count);
        Assert.Same(kept, Earliest(index));
    }

    [Fact]
    public void Random_additions_refilings_and_removals_always_yield_the_earliest_live_entry()
    {
        var random = new Random(20261123);
        var index = new ExpiryIndex();
        var live = new List<InMemoryRecord>();
        for (var step = 0; step < 20_000; step++)
        {
            var action = random.Next(10);
            if (live.Count == 0 || action < 4)
            {
                var record = Record(expiresAt: random.Next(1_000));
                index.Set(record);
                live.Add(record);
            }
            else if (action < 7)
            {
                // Expiries move both ways (a stream's slot ends before its retention), and ties are common.
                var record = live[random.Next(live.Count)];
                record.ExtendLease(random.Next(1_000));
                index.Set(record);
            }
            else
            {
                var position = random.Next(live.Count);
                index.Remove(live[position]);
                live.RemoveAt(position);
            }

            AssertEarliestIsTheEarliestOf(index, live);
        }

        // Draining in order proves the whole heap, not just its root, is consistent.
        var previous = long.MinValue;
        while (index.TryPeekEarliest(out var earliest))
        {
            Assert.True(earliest.ExpiresAt >= previous);
            previous = earliest.ExpiresAt;
            index.Remove(earliest);
        }

        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void Completed_and_in_flight_records_and_streams_are_found_earliest_first_across_both_kinds()
    {
        // In-flight records (lease ends) and completed records and streams (retention ends) are filed apart; the
        // earliest of all must come first whichever kind it is, and a completion must move a record, not copy it.
        var random = new Random(20261203);
        var index = new ExpiryIndex();
        var live = new List<InMemoryEntry>();
        var response = new StoredResponse(201, [], new byte[1]);
        for (var step = 0; step < 20_000; step++)
        {
            var action = random.Next(12);
            if (live.Count == 0 || action < 4)
            {
                InMemoryEntry entry = random.Next(5) == 0 ? Stream(expiresAt: random.Next(1_000)) : Record(expiresAt: random.Next(1_000));
                index.Set(entry);
                live.Add(entry);
            }
            else if (action < 6)
            {
                if (live[random.Next(live.Count)] is InMemoryRecord { IsCompleted: false } record)
                {
                    // Retentions are usually later than leases, but not always (a short retention, a long lease).
                    record.Complete(response, 0, random.Next(2_000));
                    index.Set(record);
                }
            }
            else if (action < 8)
            {
                if (live[random.Next(live.Count)] is InMemoryRecord { IsCompleted: false } record)
                {
                    record.ExtendLease(random.Next(1_000));
                    index.Set(record);
                }
            }
            else
            {
                var position = random.Next(live.Count);
                index.Remove(live[position]);
                index.Remove(live[position]);
                live.RemoveAt(position);
            }

            AssertEarliestIsTheEarliestOf(index, live);
            if (step % 100 == 0)
            {
                var held = live.ToHashSet();
                Assert.Null(index.FindError(held.Contains));
            }
        }

        var previous = long.MinValue;
        var drained = 0;
        while (index.TryPeekEarliest(out var earliest))
        {
            Assert.True(earliest.ExpiresAt >= previous);
            Assert.Contains(earliest, live);
            previous = earliest.ExpiresAt;
            index.Remove(earliest);
            Assert.Equal(-1, earliest.HeapIndex);
            drained++;
        }

        Assert.Equal(live.Count, drained);
    }

    [Fact]
    public void The_consistency_check_finds_an_entry_moved_without_refiling_and_one_the_store_no_longer_holds()
    {
        var index = new ExpiryIndex();
        var moved = Record(expiresAt: 10);
        var gone = Record(expiresAt: 20);
        index.Set(moved);
        index.Set(gone);
        Assert.Null(index.FindError(static _ => true));

        moved.ExtendLease(30);
        Assert.Contains("expires at 30", index.FindError(static _ => true));
        index.Set(moved);
        Assert.Null(index.FindError(static _ => true));

        Assert.Contains("not in the store", index.FindError(entry => !ReferenceEquals(entry, gone)));
    }

    [Fact]
    public void The_index_gives_its_array_back_as_it_empties()
    {
        var index = new ExpiryIndex();
        var records = new InMemoryRecord[10_000];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = Record(expiresAt: i);
            index.Set(records[i]);
        }

        var grown = index.Capacity;
        foreach (var record in records)
        {
            index.Remove(record);
        }

        Assert.True(grown >= records.Length);
        Assert.True(index.Capacity <= 16, $"capacity {index.Capacity} after emptying");
    }

    private static void AssertEarliestIsTheEarliestOf<TEntry>(ExpiryIndex index, List<TEntry> live)
        where TEntry : InMemoryEntry
    {
        Assert.Equal(live.Count, index.Count);
        if (live.Count == 0)
        {
            Assert.False(index.TryPeekEarliest(out _));
        }
        else
        {
            Assert.Equal(live.Min(entry => entry.ExpiresAt), Earliest(index).ExpiresAt);
        }
    }

    private static InMemoryEntry Earliest(ExpiryIndex index)
    {
        Assert.True(index.TryPeekEarliest(out var entry));
        return entry;
    }

    private InMemoryRecord Record(long expiresAt) => new($"key-{_nextToken}", new byte[32], ++_nextToken, expiresAt, sizeBytes: 0);

    private InMemoryStream Stream(long expiresAt)
    {
        // A stream whose slot is held expires with the slot's lease; it is filed with the retained entries all the same.
        var stream = new InMemoryStream($"stream-{++_nextToken}");
        stream.TakeSlot(epoch: 0, number: 1, new byte[32], ++_nextToken, leaseEnd: expiresAt);
        return stream;
    }
}
