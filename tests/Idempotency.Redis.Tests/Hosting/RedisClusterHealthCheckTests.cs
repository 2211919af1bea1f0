using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Idempotency.Redis.Tests.Hosting;

public sealed class RedisClusterHealthCheckTests(RedisClusterFixture cluster) : IClassFixture<RedisClusterFixture>
{
    [Fact]
    public async Task Pings_every_primary_of_a_cluster()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIdempotency().AddRedisStore(options => options.Configuration = cluster.ConnectionString);
        services.AddHealthChecks().AddIdempotencyRedis();
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["idempotency-redis"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal("3 Redis primaries answered PING.", entry.Description);
    }
}
