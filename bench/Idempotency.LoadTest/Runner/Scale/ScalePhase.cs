namespace Idempotency.LoadTest.Runner.Scale;

/// <summary>
/// One store filled by a scale run: Redis, the in-memory store that answers 503 at its limit, or the one that evicts.
/// Filled in as the phase runs, so that a run cancelled at its time limit still reports what it measured.
/// </summary>
/// <param name="name"><c>redis</c>, <c>memory</c> or <c>memory_evict</c>.</param>
/// <param name="memoryLimitBytes">The in-memory store's <c>SizeLimitBytes</c> (memory phases).</param>
public sealed class ScalePhase(string name, long? memoryLimitBytes)
{
    public string Name { get; } = name;

    public long? MemoryLimitBytes { get; } = memoryLimitBytes;

    /// <summary>Records in the store after the warm-up, before the fill: the per-record figures count from here.</summary>
    public long BaselineRecords { get; set; }

    /// <summary>Redis's <c>used_memory</c>, or the app's live heap, at <see cref="BaselineRecords"/>.</summary>
    public long BaselineMemoryBytes { get; set; }

    /// <summary>Records written when the in-memory store first refused one (503 store-full); null if it never did.</summary>
    public long? RecordsAtLimit { get; set; }

    /// <summary>
    /// The evicting store: the records it holds once full, taken as the records the refusing store held at the same
    /// limit (the same records, accounted alike). Records written beyond it were evicted.
    /// </summary>
    public long? RecordsHeldAtLimit { get; set; }

    public List<ScaleCheckpoint> Checkpoints { get; } = [];

    /// <summary>Every wrk run that wrote records (fill windows and first-execution measurements), in order.</summary>
    public List<ScaleMeasurement> Windows { get; } = [];

    /// <summary>The bytes each record added since the baseline, by the phase's memory figure (records held, not evicted ones).</summary>
    public double? BytesPerRecord(long records, long? memoryBytes)
    {
        var held = RecordsHeldAtLimit is { } limit ? Math.Min(records, limit) : records;
        return memoryBytes is { } bytes && held > BaselineRecords ? (double)(bytes - BaselineMemoryBytes) / (held - BaselineRecords) : null;
    }

    /// <summary>Records evicted to make room (the evicting store): written beyond what it holds.</summary>
    public long? Evicted(long records) => RecordsHeldAtLimit is { } limit ? Math.Max(0, records - limit) : null;
}
