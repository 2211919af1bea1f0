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

    /// <summary>The entry's position in the store's <see cref="ExpiryIndex"/>, -1 when not in it; maintained by the index.</summary>
    public int HeapIndex { get; set; } = -1;

    public long SizeBytes { get; protected set; }

    /// <summary>The usage of the entry's scope, which its bytes count against; set by the store when it adds the entry.</summary>
    public ScopeUsage? Scope { get; set; }

    public bool IsExpired(long now) => now >= ExpiresAt;
}
