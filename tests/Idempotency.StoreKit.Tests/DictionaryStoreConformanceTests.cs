using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.StoreKit.Tests;

/// <summary>The keyed-record conformance suite of Idempotency.Testing against the third-party store, on a fake clock.</summary>
public sealed class DictionaryStoreConformanceTests : IdempotencyStoreConformanceTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    protected override Task<IIdempotencyStore> CreateStoreAsync() => Task.FromResult<IIdempotencyStore>(new DictionaryStore(_time));

    protected override Task AdvanceTimeAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }
}
