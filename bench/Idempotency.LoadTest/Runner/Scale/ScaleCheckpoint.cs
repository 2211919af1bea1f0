namespace Idempotency.LoadTest.Runner.Scale;

/// <summary>
/// One checkpoint of a scale phase: the store as the fill left it (records, memory), then replays of stored keys spread
/// over the fill and first executions, measured in that order (replays add no records).
/// </summary>
/// <param name="Label">What the checkpoint is: its target (<c>10000</c>), <c>limit</c>, or <c>past-limit</c>.</param>
/// <param name="Records">Records in the store (Redis: <c>DBSIZE</c>; memory: records written).</param>
/// <param name="ElapsedSeconds">Since the scale run started.</param>
/// <param name="RedisUsedMemoryBytes"><c>used_memory</c> (Redis phase).</param>
/// <param name="RedisMemoryUsageSamples"><c>MEMORY USAGE key SAMPLES 0</c> of random keys (Redis phase).</param>
/// <param name="LiveHeapBytes">The app's managed heap after a forced full compacting collection (memory phases).</param>
/// <param name="WorkingSetBytes">The app process's resident set (memory phases).</param>
/// <param name="Replay">Replays of stored keys.</param>
/// <param name="First">First executions.</param>
public sealed record ScaleCheckpoint(
    string Label,
    long Records,
    double ElapsedSeconds,
    long? RedisUsedMemoryBytes,
    IReadOnlyList<long>? RedisMemoryUsageSamples,
    long? LiveHeapBytes,
    long? WorkingSetBytes,
    ScaleMeasurement? Replay,
    ScaleMeasurement First);
