using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Idempotency.Redis.Tests.Hosting;

/// <summary>The health check on a server of its own, which it stops and starts again.</summary>
public sealed class RedisHealthCheckTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>
{
    private static async Task<HealthReportEntry> CheckAsync(ServiceProvider provider, string name = "idempotency-redis")
    {
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries[name];
    }

    [Fact]
    public async Task Reports_healthy_while_Redis_answers_and_the_failure_status_while_it_does_not()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIdempotency().AddRedisStore(options => options.Configuration = server.ConnectionString);
        services.AddHealthChecks().AddIdempotencyRedis(failureStatus: HealthStatus.Degraded, tags: ["ready"]);
        await using var provider = services.BuildServiceProvider();

        var healthy = await CheckAsync(provider);
        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Contains("ready", healthy.Tags);

        await server.StopServerAsync();
        try
        {
            var down = await CheckAsync(provider);
            Assert.Equal(HealthStatus.Degraded, down.Status);
            Assert.NotNull(down.Exception);
        }
        finally
        {
            await server.StartServerAsync();
        }
    }

    [Fact]
    public async Task Without_the_Redis_store_the_check_says_what_is_missing()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHealthChecks().AddIdempotencyRedis(name: "custom");
        await using var provider = services.BuildServiceProvider();

        var entry = await CheckAsync(provider, "custom");

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("AddRedisStore", entry.Description, StringComparison.Ordinal);
    }
}
