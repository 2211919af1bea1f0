namespace Idempotency.Storage.InMemory;

/// <summary>What the store's expiry index and size accounting see of a record or a stream.</summary>
/// <remarks>Mutated only under the store's lock.</remarks>
internal abstract class InMemoryEntry
{
    protected InMemoryEntry(string key)
    {
        Key = key;
    }

    /// <summary>The record key or stream key; records and streams live in separate dictionaries, so the two may be equal.</summary>
    public string Key { get; }

    /// <summary>A <see cref="TimeProvider.GetTimestamp"/> value after which the entry is garbage.</summary>
    /// <remarks>The store's <see cref="ExpiryIndex"/> files the entry under it: re-file the entry after changing it.</remarks>
    public long ExpiresAt { get; protected set; }

    /// <summary>
    /// The entry's position in one of the store's <see cref="ExpiryHeap"/>s (encoded by the heap), -1 when in neither;
    /// maintained by the heaps.
    /// </summary>
    public int HeapIndex { get; set; } = -1;

    /// <summary>
    /// Whether the entry expires at the end of a lease (an in-flight record), which soon moves or goes, rather than at the
    /// end of a retention. The <see cref="ExpiryIndex"/> keeps the two kinds apart: re-file the entry after it changes.
    /// </summary>
    public abstract bool IsLeased { get; }

    public long SizeBytes { get; protected set; }

    /// <summary>The usage of the entry's scope, which its bytes count against; set by the store when it adds the entry.</summary>
    public ScopeUsage? Scope { get; set; }

    public bool IsExpired(long now) => now >= ExpiresAt;
}
