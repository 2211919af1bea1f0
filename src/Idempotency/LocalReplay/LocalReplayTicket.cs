namespace Idempotency.LocalReplay;

/// <summary>
/// Taken before the store is asked, and handed back with its answer to <see cref="LocalReplayCache.Add"/>: when the
/// question was put (an entry's lifetime counts from then, never from the answer) and which invalidations had happened
/// by then (an answer that a later admin delete may have made stale is not cached).
/// </summary>
internal readonly struct LocalReplayTicket(long timestamp, long version)
{
    public long Timestamp { get; } = timestamp;

    public long Version { get; } = version;
}
