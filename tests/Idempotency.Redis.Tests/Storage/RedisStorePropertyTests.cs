using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Testing.Properties;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// The property tests against a standalone Redis server, on Redis's real clock. Every operation runs, including
/// fencing, windows, epochs (some beyond 2^53) and expiry, but expiry only coarsely: 80% of the sequences use
/// 100 ms or 10-minute leases and retentions and wait 0.2 s once, so each short duration is clearly over after the
/// wait and clearly running before it; the rest use 10-minute durations and never wait. Exact expiry boundaries are
/// the in-memory run's. About 100 timed sequences per property: the stream-expiry bug in docs/property-tests.md took
/// about that many to show up, and the run fails if a busy machine left far fewer of them judged.
/// </summary>
public sealed class RedisStorePropertyTests(RedisStoreFixture server, ITestOutputHelper output) : SequenceStorePropertyTests(output), IClassFixture<RedisStoreFixture>
{
    protected override PropertyTimeProfile TimeProfile { get; } = PropertyTimeProfile.RealClock(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), timedPercent: 80);

    protected override int DefaultRuns => 125;

    // A fresh prefix per sequence: its keys and streams start empty, and the 10-minute ones of earlier sequences stay apart.
    protected override async Task<IIdempotencySequenceStore> CreateSequenceStoreAsync()
        => TestStores.Create(await server.GetConnectionAsync(), TestStores.UniquePrefix("property"));

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);
}
