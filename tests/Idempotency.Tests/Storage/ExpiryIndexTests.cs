using Idempotency.Storage.InMemory;

namespace Idempotency.Tests.Storage;

/// <summary>The in-memory store's expiry heap: earliest first, re-filing and removal by version, bounded stale items.</summary>
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
    public void Refiling_entries_many_times_keeps_the_heap_within_twice_the_live_entries_plus_slack()
    {
        var index = new ExpiryIndex();
        var records = new InMemoryRecord[100];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = Record(expiresAt: 1_000 + i);
            index.Set(records[i]);
        }

        for (var round = 1; round <= 500; round++)
        {
            foreach (var record in records)
            {
                record.ExtendLease(record.ExpiresAt + 1_000);
                index.Set(record);
            }

            Assert.True(index.ItemCount <= (2 * records.Length) + 1024 + 1, $"{index.ItemCount} heap items for {records.Length} entries");
        }

        // Still in expiry order after the rebuilds: entry i was filed last at 1_000 + i + 500 * 1_000.
        for (var i = 0; i < records.Length; i++)
        {
            var earliest = Earliest(index);
            Assert.Same(records[i], earliest);
            index.Remove(earliest);
        }

        Assert.False(index.TryPeekEarliest(out _));
    }

    private static InMemoryEntry Earliest(ExpiryIndex index)
    {
        Assert.True(index.TryPeekEarliest(out var entry));
        return entry;
    }

    private InMemoryRecord Record(long expiresAt) => new($"key-{_nextToken}", new byte[32], ++_nextToken, expiresAt);
}
