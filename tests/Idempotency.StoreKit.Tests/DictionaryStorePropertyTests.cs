using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Testing.Properties;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Idempotency.StoreKit.Tests;

/// <summary>The keyed-record property tests of Idempotency.Testing against the third-party store, on a fake clock.</summary>
public sealed class DictionaryStorePropertyTests(ITestOutputHelper output) : StorePropertyTests(output)
{
    private FakeTimeProvider _time = new();

    protected override PropertyTimeProfile TimeProfile => PropertyTimeProfile.FakeClock;

    protected override Task<IIdempotencyStore> CreateStoreAsync()
    {
        _time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        return Task.FromResult<IIdempotencyStore>(new DictionaryStore(_time));
    }

    protected override Task AdvanceTimeAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }
}
