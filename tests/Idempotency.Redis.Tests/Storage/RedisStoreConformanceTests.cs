using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>The store contract against a standalone Redis server.</summary>
public sealed class RedisStoreConformanceTests(RedisStoreFixture server) : IdempotencyStoreConformanceTests, IClassFixture<RedisStoreFixture>
{
    // xunit makes a new instance per test, so every test gets records of its own.
    private readonly string _keyPrefix = TestStores.UniquePrefix("conformance");

    protected override async Task<IIdempotencyStore> CreateStoreAsync()
        => TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);

    protected override TimeSpan ShortLease => TestStores.RealTimeShortLease;
}
