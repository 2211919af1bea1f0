namespace Idempotency.LoadTest.Runner;

/// <summary>
/// How full the stores are at one moment of a run (after the warm-up, then after each round): the records the in-memory
/// store holds and the heap of the app process that holds them, and Redis's memory and keys. With 24 h retention
/// nothing leaves either store during a run.
/// </summary>
/// <param name="Round">0 after the warm-up, then the round just finished (1-based).</param>
/// <param name="ElapsedSeconds">Since the runner started.</param>
/// <param name="MemoryStoreRecords">Records the memory mode wrote (keyed requests it answered 201 without replaying), seeds included.</param>
/// <param name="AppManagedHeapBytes">Bytes in use on the managed heap of the app process that hosts the memory mode (and the baseline, and the Redis modes).</param>
/// <param name="AppGcHeapSizeBytes">That heap's size after its last collection.</param>
/// <param name="AppGen2Collections">Gen 2 collections of that process so far.</param>
/// <param name="AppGcPauseMilliseconds">Total GC pause of that process so far.</param>
/// <param name="RedisUsedMemoryBytes"><c>used_memory</c> of Redis (idempotency records of every Redis mode and output cache entries).</param>
/// <param name="RedisKeys"><c>DBSIZE</c>.</param>
public sealed record StoreGrowthSample(
    int Round,
    double ElapsedSeconds,
    long? MemoryStoreRecords,
    long? AppManagedHeapBytes,
    long? AppGcHeapSizeBytes,
    int? AppGen2Collections,
    double? AppGcPauseMilliseconds,
    long? RedisUsedMemoryBytes,
    long? RedisKeys);
