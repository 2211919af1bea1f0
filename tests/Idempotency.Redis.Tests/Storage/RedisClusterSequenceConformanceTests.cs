using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>The stream half of the store contract against a three-primary Redis Cluster: every stream script must stay within one slot.</summary>
public sealed class RedisClusterSequenceConformanceTests(RedisClusterFixture cluster) : SequenceStoreConformanceTests, IClassFixture<RedisClusterFixture>
{
    private readonly string _keyPrefix = TestStores.UniquePrefix("cluster-sequence-conformance");

    protected override async Task<IIdempotencySequenceStore> CreateStoreAsync()
        => TestStores.Create(await cluster.GetConnectionAsync(), _keyPrefix);

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);

    protected override TimeSpan ShortLease => TestStores.RealTimeShortLease;
}
