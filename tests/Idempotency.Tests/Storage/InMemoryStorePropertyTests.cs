using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Idempotency.Testing;
using Idempotency.Testing.Properties;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Idempotency.Tests.Storage;

/// <summary>
/// The property tests against the in-memory store on a fake clock: every operation, expiries anywhere in a sequence and
/// exactly on their boundaries, and the sweep timer firing as the clock passes its interval. Through
/// <see cref="AccountingCheckedStore"/>, every step also checks the size and per-scope counters against a recount, and
/// every sequence ends with all of them back at zero once everything has expired.
/// </summary>
public sealed class InMemoryStorePropertyTests(ITestOutputHelper output) : SequenceStorePropertyTests(output)
{
    private FakeTimeProvider _time = new();

    protected override PropertyTimeProfile TimeProfile => PropertyTimeProfile.FakeClock;

    // Cheap on a fake clock (about 2 s for 5000), so the default run already goes deep.
    protected override int DefaultRuns => 500;

    protected override Task<IIdempotencySequenceStore> CreateSequenceStoreAsync()
    {
        // A clock per store, so a sequence's advances move only its own store's timers. The scan interval is shorter
        // than the advances, so sweeps run between the steps and must not change any answer.
        _time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var options = new InMemoryIdempotencyStoreOptions { ExpirationScanInterval = TimeSpan.FromSeconds(2) };
        return Task.FromResult<IIdempotencySequenceStore>(new AccountingCheckedStore(new InMemoryIdempotencyStore(Options.Create(options), _time)));
    }

    protected override Task AdvanceTimeAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }

    protected override ValueTask DisposeStoreAsync(IIdempotencyStore store)
    {
        // Disposed first: its sweep timer would otherwise fire for every interval of the long advance.
        var checkedStore = (AccountingCheckedStore)store;
        checkedStore.Inner.Dispose();
        var time = _time;
        checkedStore.AssertEmptyAfterExpiry(() => time.Advance(TimeSpan.FromDays(1)));
        return ValueTask.CompletedTask;
    }
}
