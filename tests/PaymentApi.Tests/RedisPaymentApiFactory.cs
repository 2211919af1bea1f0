using Microsoft.AspNetCore.Hosting;

namespace PaymentApi.Tests;

/// <summary>
/// The sample with <c>ConnectionStrings:Redis</c> set, as an operator runs it: the Redis store and its health check
/// instead of the EF Core store in the ledger's database, and policies that are not transactional. Factories given the
/// same ledger file and Redis server are instances of one service.
/// </summary>
public sealed class RedisPaymentApiFactory(string databasePath, string redisConnectionString) : PaymentApiFactory(databasePath)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("ConnectionStrings:Redis", redisConnectionString);
    }
}
