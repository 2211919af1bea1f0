using Idempotency.AdminTests;
using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Redis.Tests.Admin;

public sealed class RedisAdminEndpointTests(RedisStoreFixture server) : AdminEndpointTests, IClassFixture<RedisStoreFixture>
{
    private readonly string _keyPrefix = "admin-" + Guid.NewGuid().ToString("N")[..8] + ":";

    private protected override void UseStore(IIdempotencyBuilder idempotency)
        => idempotency.AddRedisStore(options =>
        {
            options.Configuration = server.ConnectionString;
            options.KeyPrefix = _keyPrefix;
        });
}
