namespace Idempotency.Storage;

/// <summary>
/// The scope partitions (<see cref="RecordKey.ScopePartitionLength"/> hex characters of a scope's own hash) of the
/// scopes seen last, so that a request's record key costs one SHA-256 instead of two when its scope was seen before
/// (always for a shared scope, such as anonymous callers'; for a principal making several requests). A hash through
/// the platform's cryptography library costs about half a microsecond whatever its input, as much as the rest of a
/// replay from memory.
/// </summary>
/// <remarks>
/// A fixed array of slots, each an immutable entry replaced whole, so readers need no lock and the memory is bounded
/// whatever scopes clients bring: a scope evicts whichever scope shared its slot. A slot is chosen by the process's
/// randomized string hash, so nobody outside can aim their scopes at another's slot; if they could, a miss only costs
/// the hash it would have cost anyway.
/// </remarks>
internal static class ScopePartitionCache
{
    private const int Slots = 256;

    // Scopes longer than this are hashed each time: comparing them would cost about what hashing does.
    private const int MaxScopeLength = 256;

    private static readonly Entry?[] Entries = new Entry?[Slots];

    /// <summary>Copies the cached partition of <paramref name="scope"/> to <paramref name="destination"/>; false when there is none.</summary>
    public static bool TryCopy(string scope, Span<char> destination)
    {
        if (scope.Length > MaxScopeLength)
        {
            return false;
        }

        var entry = Volatile.Read(ref Entries[SlotOf(scope)]);
        if (entry is null || !string.Equals(entry.Scope, scope, StringComparison.Ordinal))
        {
            return false;
        }

        entry.Partition.CopyTo(destination);
        return true;
    }

    /// <summary>Remembers <paramref name="partition"/> as the partition of <paramref name="scope"/>.</summary>
    public static void Add(string scope, ReadOnlySpan<char> partition)
    {
        if (scope.Length <= MaxScopeLength)
        {
            Volatile.Write(ref Entries[SlotOf(scope)], new Entry(scope, partition.ToString()));
        }
    }

    private static int SlotOf(string scope) => scope.GetHashCode() & (Slots - 1);

    private sealed class Entry(string scope, string partition)
    {
        public string Scope { get; } = scope;

        public string Partition { get; } = partition;
    }
}
