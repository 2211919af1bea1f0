using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// Which of Redis's refusals mean "cannot serve now" (<see cref="IdempotencyStoreUnavailableException"/>) and which mean
/// the record or the data is wrong (never unavailable: the middleware must not run the handler again because of them).
/// </summary>
public sealed class RedisStoreServerErrorTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>
{
    private static readonly byte[] Fingerprint = "fp"u8.ToArray();
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);
    private static readonly StoredResponse Response = new(201, [], "created"u8.ToArray());

    // Version byte 3, which this version of the store does not read: a record written by a later version during a
    // rolling upgrade. (Version 2 is a protected snapshot, read with a protector.)
    private const string FutureSnapshot = "\u0004\u00c9\u0000\u0000\u0000";

    private readonly string _keyPrefix = TestStores.UniquePrefix("server-errors");

    [Fact]
    public async Task A_record_with_an_unknown_snapshot_version_is_unreadable_and_not_unavailable()
    {
        var store = TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);
        var begun = await store.TryBeginAsync("future", Fingerprint, Lease, CancellationToken.None);
        Assert.True(await store.CompleteAsync("future", begun.FencingToken, Response, Retention, CancellationToken.None));
        await server.ExecuteAsync("HSET", $"{_keyPrefix}{{future}}", "r", FutureSnapshot);

        var error = await Record.ExceptionAsync(() => store.TryBeginAsync("future", Fingerprint, Lease, CancellationToken.None).AsTask());

        Assert.IsType<InvalidDataException>(error);
        Assert.Contains("format version 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_response_with_an_unknown_snapshot_version_is_unreadable_and_not_unavailable()
    {
        var store = TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);
        var begun = await store.TryBeginSequenceAsync("future", 0, 1, Fingerprint, Lease, CancellationToken.None);
        Assert.True(await store.CompleteSequenceAsync("future", begun.FencingToken, Response, 4, Retention, CancellationToken.None));
        await server.ExecuteAsync("HSET", $"{_keyPrefix}{{future}}:s", "r:1", FutureSnapshot);

        var error = await Record.ExceptionAsync(() => store.TryBeginSequenceAsync("future", 0, 1, Fingerprint, Lease, CancellationToken.None).AsTask());

        Assert.IsType<InvalidDataException>(error);
    }

    [Fact]
    public async Task A_key_of_the_wrong_type_is_a_server_error_and_not_unavailable()
    {
        // Another application wrote a string where a record's hash belongs (a shared prefix): waiting will not heal it.
        var store = TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);
        await server.ExecuteAsync("SET", $"{_keyPrefix}{{clash}}", "not a record");

        var error = await Record.ExceptionAsync(() => store.TryBeginAsync("clash", Fingerprint, Lease, CancellationToken.None).AsTask());

        var serverError = Assert.IsType<RedisServerException>(error);
        Assert.StartsWith("WRONGTYPE", serverError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Redis_out_of_memory_under_noeviction_makes_writes_unavailable()
    {
        // A maxmemory below what an empty server uses: every write is refused with OOM, as on a full server that
        // (correctly) never evicts.
        await using var full = await RedisServerProcess.StartNewAsync("--maxmemory", "1", "--maxmemory-policy", "noeviction");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration($"127.0.0.1:{full.Port}"));
        var store = TestStores.Create(connection, _keyPrefix);

        var record = await Record.ExceptionAsync(() => store.TryBeginAsync("full", Fingerprint, Lease, CancellationToken.None).AsTask());
        var stream = await Record.ExceptionAsync(() => store.TryBeginSequenceAsync("full", 0, 1, Fingerprint, Lease, CancellationToken.None).AsTask());

        foreach (var error in (Exception?[])[record, stream])
        {
            var unavailable = Assert.IsType<IdempotencyStoreUnavailableException>(error);
            var oom = Assert.IsType<RedisServerException>(unavailable.InnerException);
            Assert.StartsWith("OOM", oom.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("wrong-password")]
    [InlineData(null)]
    public async Task A_Redis_that_refuses_the_credentials_is_a_server_error_and_not_unavailable(string? password)
    {
        // A wrong or rotated password does not heal by waiting: answering 503 (or failing open) would hide it.
        // The password is set after start: the fixture's readiness PING goes without credentials.
        await using var locked = await RedisServerProcess.StartNewAsync();
        await Idempotency.Testing.Redis.Resp.ExecuteAsync(locked.Port, "CONFIG", "SET", "requirepass", "right-password");
        var configuration = password is null ? $"127.0.0.1:{locked.Port}" : $"127.0.0.1:{locked.Port},password={password}";
        var store = TestStores.Create(new RedisIdempotencyStoreOptions { Configuration = configuration, KeyPrefix = _keyPrefix });

        var error = await Record.ExceptionAsync(() => store.TryBeginAsync("locked", Fingerprint, Lease, CancellationToken.None).AsTask());

        Assert.NotNull(error);
        Assert.IsNotType<IdempotencyStoreUnavailableException>(error);
    }
}
