using Idempotency.Redis.Internal;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>Builds stores the way the service registration does, on a connection a fixture shares.</summary>
internal static class TestStores
{
    public static RedisIdempotencyStore Create(IConnectionMultiplexer connection, string keyPrefix)
        => Create(new RedisIdempotencyStoreOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult(connection),
            KeyPrefix = keyPrefix,
        });

    public static RedisIdempotencyStore Create(RedisIdempotencyStoreOptions options)
    {
        var wrapped = Options.Create(options);
        return new RedisIdempotencyStore(new RedisConnectionProvider(wrapped), wrapped);
    }

    /// <summary>A key prefix no other test uses; the GUID keeps tests that share a server apart.</summary>
    public static string UniquePrefix(string purpose) => $"test:{purpose}:{Guid.NewGuid():N}:";
}
