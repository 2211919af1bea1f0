namespace Idempotency.Storage.InMemory;

/// <summary>
/// What one scope holds in the in-memory store: the entries whose keys begin with its partition
/// (<see cref="RecordKey.ScopePartition"/>) and their bytes, checked against the per-scope quota.
/// </summary>
/// <remarks>
/// Each entry keeps a reference to its scope's usage, so changing or removing an entry updates it without a lookup.
/// The store forgets a scope when its last entry goes, so the table holds only scopes with live entries. Mutated only
/// under the store's lock.
/// </remarks>
internal sealed class ScopeUsage(string partition)
{
    public string Partition { get; } = partition;

    /// <summary>Records and streams of the scope in the store.</summary>
    public int Entries { get; set; }

    /// <summary>Their bytes, as counted against the store's size limit.</summary>
    public long Bytes { get; set; }

    /// <summary>The part of <see cref="Bytes"/> held by completed records: what evicting the scope's own records could free.</summary>
    public long CompletedBytes { get; set; }

    /// <summary>
    /// The scope's completed records, oldest completion first, kept only when live records may be evicted: a scope at
    /// its quota then makes room from its own records, never from another scope's.
    /// </summary>
    public LinkedList<InMemoryRecord>? CompletionOrder { get; set; }
}
