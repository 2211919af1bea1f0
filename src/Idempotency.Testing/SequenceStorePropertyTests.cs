using Idempotency.Storage;
using Idempotency.Testing.Properties;
using Xunit;
using Xunit.Abstractions;

namespace Idempotency.Testing;

/// <summary>
/// The property tests of <see cref="StorePropertyTests"/> for a store that also keeps sequence streams: random
/// sequences of stream operations must answer as <see cref="StreamStoreModel"/> does, besides the keyed-record
/// property. Implement <see cref="CreateSequenceStoreAsync"/> instead of <c>CreateStoreAsync</c>.
/// </summary>
public abstract class SequenceStorePropertyTests(ITestOutputHelper output) : StorePropertyTests(output)
{
    /// <summary>A fresh store whose keys and streams are isolated from every other run (each sequence gets its own).</summary>
    protected abstract Task<IIdempotencySequenceStore> CreateSequenceStoreAsync();

    /// <inheritdoc/>
    protected sealed override async Task<IIdempotencyStore> CreateStoreAsync() => await CreateSequenceStoreAsync();

    [Fact]
    public Task Sequence_mode_operations_answer_as_the_reference_model()
        => CheckAsync(
            StoreOperationGenerators.StreamSequences(TimeProfile, MaxOperations),
            (store, statistics, operations) => new StreamSequenceRun((IIdempotencySequenceStore)store, AdvanceTimeAsync, TimeProfile, statistics).ExecuteAsync(operations));
}
