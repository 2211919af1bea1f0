using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Testing.Properties;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// The property tests against a standalone Redis server, on Redis's real clock. Every operation runs, including
/// fencing, windows, epochs (some beyond 2^53) and expiry, but expiry only coarsely: 15% of the sequences use
/// 300 ms leases and retentions and wait 0.7 s once, so each short duration is clearly over after the wait and clearly
/// running before it; the rest use 10-minute durations and never wait. Exact expiry boundaries are the in-memory run's.
/// </summary>
public sealed class RedisStorePropertyTests(RedisStoreFixture server, ITestOutputHelper output) : SequenceStorePropertyTests(output), IClassFixture<RedisStoreFixture>
{
    protected override PropertyTimeProfile TimeProfile { get; } = PropertyTimeProfile.RealClock(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(700), timedPercent: 15);

    protected override int DefaultRuns => 40;

    // A fresh prefix per sequence: its keys and streams start empty, and the 10-minute ones of earlier sequences stay apart.
    protected override async Task<IIdempotencySequenceStore> CreateSequenceStoreAsync()
        => TestStores.Create(await server.GetConnectionAsync(), TestStores.UniquePrefix("property"));

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);
}
