using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>The stream half of the store contract against a standalone Redis server.</summary>
public sealed class RedisSequenceConformanceTests(RedisStoreFixture server) : SequenceStoreConformanceTests, IClassFixture<RedisStoreFixture>
{
    // xunit makes a new instance per test, so every test gets streams of its own.
    private readonly string _keyPrefix = TestStores.UniquePrefix("sequence-conformance");

    protected override async Task<IIdempotencySequenceStore> CreateStoreAsync()
        => TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);

    protected override TimeSpan ShortLease => TestStores.RealTimeShortLease;
}
