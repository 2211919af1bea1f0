using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Idempotency.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Storage;

public sealed class InMemorySequenceConformanceTests : SequenceStoreConformanceTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    protected override Task<IIdempotencySequenceStore> CreateStoreAsync()
        => Task.FromResult<IIdempotencySequenceStore>(new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), _time));

    protected override Task AdvanceTimeAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }
}
