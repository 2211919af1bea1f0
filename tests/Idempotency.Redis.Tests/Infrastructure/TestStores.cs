using Idempotency.Redis.Internal;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>Builds stores the way the service registration does, on a connection a fixture shares.</summary>
internal static class TestStores
{
    /// <summary>
    /// The conformance suites' short lease against a real server and the real clock. The suites renew or check a record
    /// a quarter of a lease after acquiring it; with the suites' 500 ms default, a pause of under 400 ms on a busy
    /// two-core machine (seven test assemblies share it in CI) once let a lease expire before its renewal. A second
    /// leaves room for such pauses and keeps every wait of the suites short.
    /// </summary>
    public static readonly TimeSpan RealTimeShortLease = TimeSpan.FromSeconds(1);

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
