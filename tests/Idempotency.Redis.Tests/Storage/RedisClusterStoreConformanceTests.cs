using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>The store contract against a three-primary Redis Cluster: every script must stay within one slot.</summary>
public sealed class RedisClusterStoreConformanceTests(RedisClusterFixture cluster) : IdempotencyStoreConformanceTests, IClassFixture<RedisClusterFixture>
{
    private readonly string _keyPrefix = TestStores.UniquePrefix("cluster-conformance");

    protected override async Task<IIdempotencyStore> CreateStoreAsync()
        => TestStores.Create(await cluster.GetConnectionAsync(), _keyPrefix);

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);

    protected override TimeSpan ShortLease => TestStores.RealTimeShortLease;
}
