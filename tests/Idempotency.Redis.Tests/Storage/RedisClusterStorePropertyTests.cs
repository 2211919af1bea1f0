using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Testing.Properties;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// The property tests against a three-primary Redis Cluster, without time: every lease and retention outlives the run,
/// so this covers the answers and the routing of every script (each stays within its key's slot), not expiry, which
/// the standalone run covers coarsely and the in-memory run exactly.
/// </summary>
public sealed class RedisClusterStorePropertyTests(RedisClusterFixture cluster, ITestOutputHelper output) : SequenceStorePropertyTests(output), IClassFixture<RedisClusterFixture>
{
    protected override PropertyTimeProfile TimeProfile => PropertyTimeProfile.Timeless;

    protected override int DefaultRuns => 25;

    protected override async Task<IIdempotencySequenceStore> CreateSequenceStoreAsync()
        => TestStores.Create(await cluster.GetConnectionAsync(), TestStores.UniquePrefix("cluster-property"));

    protected override Task AdvanceTimeAsync(TimeSpan duration)
        => throw new InvalidOperationException("Timeless sequences never advance the clock.");
}
