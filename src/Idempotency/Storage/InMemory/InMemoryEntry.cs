namespace Idempotency.Storage.InMemory;

/// <summary>What the store's expiry index and size accounting see of a record or a stream.</summary>
/// <remarks>Mutated only under the store's lock.</remarks>
internal abstract class InMemoryEntry
{
    protected InMemoryEntry(string key, long id)
    {
        Key = key;
        Id = id;
    }

    /// <summary>The record key or stream key; records and streams live in separate dictionaries, so the two may be equal.</summary>
    public string Key { get; }

    /// <summary>
    /// A fencing token the entry was created with. Tokens never repeat, so no two entries ever compare equal in the
    /// expiry index, which would otherwise silently drop one of them.
    /// </summary>
    public long Id { get; }

    /// <summary>A <see cref="TimeProvider.GetTimestamp"/> value after which the entry is garbage.</summary>
    /// <remarks>Part of the store's expiry index ordering: change it only while the entry is out of that index.</remarks>
    public long ExpiresAt { get; protected set; }

    public long SizeBytes { get; protected set; }

    public bool IsExpired(long now) => now >= ExpiresAt;
}
