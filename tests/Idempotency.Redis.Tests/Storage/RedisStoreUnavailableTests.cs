using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// A Redis the store cannot reach surfaces as <see cref="IdempotencyStoreUnavailableException"/>, with Redis's own
/// exception inside: the one failure the middleware may answer with 503 or fail open on. Here the connection itself
/// fails; a server that stops is in <see cref="RedisStoreFaultTests"/>, one that refuses writes in
/// <see cref="RedisStoreServerErrorTests"/>.
/// </summary>
public sealed class RedisStoreUnavailableTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>
{
    private static readonly byte[] Fingerprint = [7];
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_store_whose_first_connection_finds_no_server_throws_StoreUnavailable()
    {
        // Nothing listens on this port: the connect itself fails, before any script is sent.
        var store = TestStores.Create(new RedisIdempotencyStoreOptions
        {
            Configuration = $"127.0.0.1:{RedisServerProcess.GetFreePort()},connectTimeout=500",
            KeyPrefix = TestStores.UniquePrefix("unavailable"),
        });

        await AssertUnavailableAsync(() => store.TryBeginAsync("never", Fingerprint, Lease, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task A_connection_factory_that_cannot_connect_makes_the_store_unavailable()
    {
        var store = TestStores.Create(new RedisIdempotencyStoreOptions
        {
            ConnectionMultiplexerFactory = () => throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "no route to Redis"),
            KeyPrefix = TestStores.UniquePrefix("unavailable"),
        });

        await AssertUnavailableAsync(() => store.TryBeginSequenceAsync("never", 0, 1, Fingerprint, Lease, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task A_store_whose_connection_was_disposed_at_shutdown_throws_StoreUnavailable()
    {
        var options = Options.Create(new RedisIdempotencyStoreOptions
        {
            Configuration = server.ConnectionString,
            KeyPrefix = TestStores.UniquePrefix("unavailable"),
        });
        var connections = new RedisConnectionProvider(options);
        var store = new RedisIdempotencyStore(connections, options);
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync("before", Fingerprint, Lease, CancellationToken.None)).Status);

        // The host disposes singletons while a last request may still be finishing.
        await connections.DisposeAsync();

        var error = await AssertUnavailableAsync(() => store.ReleaseAsync("before", 1, CancellationToken.None).AsTask());
        Assert.IsType<ObjectDisposedException>(error.InnerException);
    }

    private static async Task<IdempotencyStoreUnavailableException> AssertUnavailableAsync(Func<Task> operation)
    {
        var error = await Record.ExceptionAsync(operation);
        var unavailable = Assert.IsType<IdempotencyStoreUnavailableException>(error);
        Assert.True(
            unavailable.InnerException is RedisException or TimeoutException or ObjectDisposedException,
            $"Redis's own exception belongs inside, got {unavailable.InnerException}");
        return unavailable;
    }
}
