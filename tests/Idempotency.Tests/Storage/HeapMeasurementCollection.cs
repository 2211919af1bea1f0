namespace Idempotency.Tests.Storage;

/// <summary>Tests that measure the managed heap: run alone, so no other test's allocations land in their measurement.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasurementCollection
{
    public const string Name = "Heap measurement";
}
