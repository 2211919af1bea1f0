using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// A Redis that cannot serve surfaces as <see cref="IdempotencyStoreUnavailableException"/> from every store operation,
/// keys and streams alike, with Redis's own exception inside: the one failure the middleware may answer with 503 or
/// fail open on. The class has a server of its own, because it stops it.
/// </summary>
public sealed class RedisStoreUnavailableTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>
{
    private static readonly byte[] Fingerprint = [7];
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly StoredResponse Response = new(200, [], "done"u8.ToArray());

    [Fact]
    public async Task Every_record_and_stream_operation_throws_StoreUnavailable_while_Redis_is_down()
    {
        var store = TestStores.Create(new RedisIdempotencyStoreOptions
        {
            Configuration = server.ConnectionString,
            KeyPrefix = TestStores.UniquePrefix("unavailable"),
        });
        var record = await store.TryBeginAsync("record", Fingerprint, Lease, CancellationToken.None);
        var stream = await store.TryBeginSequenceAsync("stream", 0, 1, Fingerprint, Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, record.Status);
        Assert.Equal(SequenceBeginStatus.Acquired, stream.Status);

        await server.StopServerAsync();
        try
        {
            await AssertUnavailableAsync(() => store.TryBeginAsync("other", Fingerprint, Lease, CancellationToken.None).AsTask());
            await AssertUnavailableAsync(() => store.RenewLeaseAsync("record", record.FencingToken, Lease, CancellationToken.None).AsTask());
            await AssertUnavailableAsync(() => store.CompleteAsync("record", record.FencingToken, Response, Lease, CancellationToken.None).AsTask());
            await AssertUnavailableAsync(() => store.ReleaseAsync("record", record.FencingToken, CancellationToken.None).AsTask());
            await AssertUnavailableAsync(() => store.TryBeginSequenceAsync("other", 0, 1, Fingerprint, Lease, CancellationToken.None).AsTask());
            await AssertUnavailableAsync(() => store.RenewSequenceLeaseAsync("stream", stream.FencingToken, Lease, CancellationToken.None).AsTask());
            await AssertUnavailableAsync(() => store.CompleteSequenceAsync("stream", stream.FencingToken, Response, 4, Lease, CancellationToken.None).AsTask());
            await AssertUnavailableAsync(() => store.ReleaseSequenceAsync("stream", stream.FencingToken, CancellationToken.None).AsTask());
        }
        finally
        {
            await server.StartServerAsync();
        }
    }

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
