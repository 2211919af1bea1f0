using System.Net;
using System.Text;
using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// Compressed records in Redis, through the real middleware: Redis keeps the large response compressed, retries replay
/// it byte for byte (also on an instance that does not compress), and a record whose compressed payload is hostile is
/// answered 500 and never run again.
/// </summary>
public sealed class CompressedRecordTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>
{
    private readonly string _prefix = TestStores.UniquePrefix("compression");
    private readonly RedisTestApp.TestEndpoints _endpoints = new();

    private Task<RedisTestApp> StartAsync(bool compress, string name = "A")
        => RedisTestApp.StartAsync(server.ConnectionString, _prefix, _endpoints, name, configure: options => options.CompressStoredResponses = compress);

    /// <summary>An 8 KiB JSON request body, which the handler echoes in its response.</summary>
    private static string LargeJson()
    {
        var builder = new StringBuilder("[");
        for (var i = 0; builder.Length < 8 * 1024; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append("{\"line\":").Append(i).Append(",\"sku\":\"SKU-").Append(i * 7919 % 10_000).Append("\",\"quantity\":1}");
        }

        return builder.Append(']').ToString();
    }

    private async Task<(RedisKey Key, byte[] Snapshot)> StoredAsync()
    {
        var connection = await server.GetConnectionAsync();
        var redis = connection.GetServer(connection.GetEndPoints()[0]);
        var stored = new List<(RedisKey, byte[])>();
        await foreach (var key in redis.KeysAsync(pattern: _prefix + "*"))
        {
            if ((byte[]?)await connection.GetDatabase().HashGetAsync(key, "r") is { } snapshot)
            {
                stored.Add((key, snapshot));
            }
        }

        return Assert.Single(stored);
    }

    [Fact]
    public async Task A_large_response_is_kept_compressed_and_replays_byte_for_byte_on_every_instance()
    {
        var body = LargeJson();
        var key = RedisTestApp.NewKey();
        await using var compressing = await StartAsync(compress: true);
        await using var plain = await StartAsync(compress: false, name: "B");

        var first = await compressing.Client.SendAsync(RedisTestApp.Post("/items", key, body));
        var firstBody = await first.Content.ReadAsByteArrayAsync();
        var (_, snapshot) = await StoredAsync();
        var replay = await compressing.Client.SendAsync(RedisTestApp.Post("/items", key, body));
        var replayElsewhere = await plain.Client.SendAsync(RedisTestApp.Post("/items", key, body));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(StoredResponseSerializer.CompressedFormatVersion, snapshot[0]);
        Assert.True(snapshot.Length < firstBody.Length / 3, $"Redis keeps {snapshot.Length} bytes for a {firstBody.Length}-byte body.");
        foreach (var retry in new[] { replay, replayElsewhere })
        {
            Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
            Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
            Assert.Equal(firstBody, await retry.Content.ReadAsByteArrayAsync());
            Assert.Equal(first.Headers.Location, retry.Headers.Location);
            Assert.Equal(first.Headers.GetValues("X-Multi"), retry.Headers.GetValues("X-Multi"));
            Assert.Equal(first.Content.Headers.ContentType, retry.Content.Headers.ContentType);
        }

        Assert.Equal(1, _endpoints.Executions($"items:{key}"));
    }

    [Fact]
    public async Task A_small_response_is_kept_as_it_is()
    {
        await using var app = await StartAsync(compress: true);

        await app.Client.SendAsync(RedisTestApp.Post("/items", RedisTestApp.NewKey()));

        Assert.Equal(StoredResponseSerializer.FormatVersion, (await StoredAsync()).Snapshot[0]);
    }

    [Fact]
    public async Task A_compressed_record_stating_a_huge_length_answers_500_and_never_runs_again()
    {
        await using var app = await StartAsync(compress: true);
        var key = RedisTestApp.NewKey();
        await app.Client.SendAsync(RedisTestApp.Post("/items", key, LargeJson()));
        var (redisKey, snapshot) = await StoredAsync();

        // The same compressed bytes, stating 2 GiB - 1 as their decompressed length.
        byte[] hostile = [StoredResponseSerializer.CompressedFormatVersion, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, .. snapshot.AsSpan(2 + VarUIntLength(snapshot.AsSpan(2)))];
        var connection = await server.GetConnectionAsync();
        await connection.GetDatabase().HashSetAsync(redisKey, "r", hostile);

        var retry = await app.Client.SendAsync(RedisTestApp.Post("/items", key, LargeJson()));

        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, "idempotency-record-unreadable");
        Assert.Equal(1, _endpoints.Executions($"items:{key}"));
    }

    [Fact]
    public async Task A_stream_keeps_its_window_compressed_and_replays_it()
    {
        var connection = await server.GetConnectionAsync();
        var storeOptions = Options.Create(new RedisIdempotencyStoreOptions { ConnectionMultiplexerFactory = () => Task.FromResult(connection), KeyPrefix = _prefix });
        var store = new RedisIdempotencyStore(
            new RedisConnectionProvider(storeOptions), storeOptions, idempotencyOptions: Options.Create(new IdempotencyOptions { CompressStoredResponses = true }));
        var response = new StoredResponse(201, [new("Location", "/transfers/1")], Encoding.UTF8.GetBytes(LargeJson()));
        byte[] fingerprint = [1, 2, 3];
        var lease = TimeSpan.FromSeconds(30);

        var begin = await store.TryBeginSequenceAsync("stream-1", 0, 1, fingerprint, lease, CancellationToken.None);
        Assert.True(await store.CompleteSequenceAsync("stream-1", begin.FencingToken, response, 4, TimeSpan.FromMinutes(5), CancellationToken.None));
        var replay = await store.TryBeginSequenceAsync("stream-1", 0, 1, fingerprint, lease, CancellationToken.None);
        var inspected = await store.InspectStreamAsync("stream-1", CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Completed, replay.Status);
        Assert.Equal(response.Body.ToArray(), replay.Response!.Body.ToArray());
        Assert.Equal(response.Body.ToArray(), Assert.Single(inspected!.Window).Response.Body.ToArray());
        var redis = connection.GetServer(connection.GetEndPoints()[0]);
        var compressed = 0;
        await foreach (var key in redis.KeysAsync(pattern: _prefix + "*"))
        {
            foreach (var entry in await connection.GetDatabase().HashGetAllAsync(key))
            {
                if (entry.Name.ToString().StartsWith("r:", StringComparison.Ordinal))
                {
                    var value = (byte[])entry.Value!;
                    Assert.Equal(StoredResponseSerializer.CompressedFormatVersion, value[0]);
                    Assert.True(value.Length < response.Body.Length / 3);
                    compressed++;
                }
            }
        }

        Assert.Equal(1, compressed);
    }

    private static int VarUIntLength(ReadOnlySpan<byte> bytes)
    {
        var length = 1;
        while (bytes[length - 1] >= 0x80)
        {
            length++;
        }

        return length;
    }
}
