using System.Net;
using System.Text;
using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// Stored responses protected at rest in Redis, through the real middleware: what Redis holds reveals neither body nor
/// headers, retries replay, a reused key is still refused, protected and unprotected records replay side by side, a
/// record written before a key rotation replays after it, and one that cannot be unprotected is never run again.
/// </summary>
public sealed class StoredResponseProtectionTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>, IDisposable
{
    private readonly TestKeyRing _ring = new();
    private readonly string _prefix = TestStores.UniquePrefix("protection");
    private readonly RedisTestApp.TestEndpoints _endpoints = new();

    public void Dispose() => _ring.Dispose();

    private static string Body(string secret) => $"{{\"card\":\"{secret}\"}}";

    private static string NewSecret() => $"secret-{Guid.NewGuid():N}";

    private Task<RedisTestApp> StartAsync(IDataProtector? protector, bool protectNewResponses = true, string name = "A")
        => RedisTestApp.StartAsync(server.ConnectionString, _prefix, _endpoints, name, configure: options =>
        {
            options.StoredResponseProtector = protector;
            options.ProtectStoredResponses = protectNewResponses && protector is not null;
        });

    /// <summary>The stored response field of every completed record under this test's prefix.</summary>
    private async Task<List<(RedisKey Key, byte[] Snapshot)>> StoredAsync()
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

        return stored;
    }

    /// <summary>The store itself, protecting what it writes, on the test's key prefix.</summary>
    private async Task<(IConnectionMultiplexer Connection, RedisIdempotencyStore Store)> CreateProtectingStoreAsync()
    {
        var connection = await server.GetConnectionAsync();
        var storeOptions = Options.Create(new RedisIdempotencyStoreOptions { ConnectionMultiplexerFactory = () => Task.FromResult(connection), KeyPrefix = _prefix });
        var protection = Options.Create(new IdempotencyOptions { StoredResponseProtector = _ring.Protector, ProtectStoredResponses = true });
        return (connection, new RedisIdempotencyStore(new RedisConnectionProvider(storeOptions), storeOptions, idempotencyOptions: protection));
    }

    private static bool Contains(byte[] snapshot, string text) => snapshot.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    [Fact]
    public async Task Redis_holds_the_response_protected_and_a_retry_replays_it()
    {
        await using var app = await StartAsync(_ring.Protector);
        var key = RedisTestApp.NewKey();
        var secret = NewSecret();

        var first = await app.Client.SendAsync(RedisTestApp.Post("/items", key, Body(secret)));
        var replay = await app.Client.SendAsync(RedisTestApp.Post("/items", key, Body(secret)));

        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, replay.Headers.Location);
        Assert.Equal(1, _endpoints.Executions($"items:{key}"));

        var (_, snapshot) = Assert.Single(await StoredAsync());
        Assert.Equal(StoredResponseSerializer.ProtectedFormatVersion, snapshot[0]);
        Assert.False(Contains(snapshot, secret), "The body is in Redis in plaintext.");
        Assert.False(Contains(snapshot, "/items/A/"), "The Location header is in Redis in plaintext.");
    }

    [Fact]
    public async Task A_retry_with_another_body_is_refused_not_served_the_protected_response()
    {
        await using var app = await StartAsync(_ring.Protector);
        var key = RedisTestApp.NewKey();
        await app.Client.SendAsync(RedisTestApp.Post("/items", key, Body(NewSecret())));

        var reused = await app.Client.SendAsync(RedisTestApp.Post("/items", key, Body(NewSecret())));

        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, _endpoints.Executions($"items:{key}"));
    }

    [Fact]
    public async Task Protection_switched_on_and_off_in_a_running_system_replays_every_record()
    {
        var (plainKey, protectedKey, afterKey) = (RedisTestApp.NewKey(), RedisTestApp.NewKey(), RedisTestApp.NewKey());
        string plainBody, protectedBody;

        // Before: no protection.
        await using (var before = await StartAsync(protector: null, name: "before"))
        {
            plainBody = await (await before.Client.SendAsync(RedisTestApp.Post("/items", plainKey))).Content.ReadAsStringAsync();
        }

        // Switched on: new records protected, the older one still replays.
        await using (var on = await StartAsync(_ring.Protector, name: "on"))
        {
            protectedBody = await (await on.Client.SendAsync(RedisTestApp.Post("/items", protectedKey))).Content.ReadAsStringAsync();
            Assert.Equal(plainBody, await (await on.Client.SendAsync(RedisTestApp.Post("/items", plainKey))).Content.ReadAsStringAsync());
        }

        // Switched off (the protector kept to read): new records plain, both older ones replay.
        await using var off = await StartAsync(_ring.Protector, protectNewResponses: false, name: "off");
        await off.Client.SendAsync(RedisTestApp.Post("/items", afterKey));
        var plainReplay = await off.Client.SendAsync(RedisTestApp.Post("/items", plainKey));
        var protectedReplay = await off.Client.SendAsync(RedisTestApp.Post("/items", protectedKey));

        Assert.True(plainReplay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(plainBody, await plainReplay.Content.ReadAsStringAsync());
        Assert.True(protectedReplay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(protectedBody, await protectedReplay.Content.ReadAsStringAsync());
        Assert.Equal(3, _endpoints.Executions("items"));

        var versions = (await StoredAsync()).ConvertAll(static stored => stored.Snapshot[0]);
        versions.Sort();
        Assert.Equal([StoredResponseSerializer.FormatVersion, StoredResponseSerializer.FormatVersion, StoredResponseSerializer.ProtectedFormatVersion], versions);
    }

    [Fact]
    public async Task A_record_written_before_a_key_rotation_replays_after_it()
    {
        var (oldKey, newKey) = (RedisTestApp.NewKey(), RedisTestApp.NewKey());
        string oldBody;
        await using (var before = await StartAsync(_ring.Protector, name: "before"))
        {
            oldBody = await (await before.Client.SendAsync(RedisTestApp.Post("/items", oldKey))).Content.ReadAsStringAsync();
        }

        _ring.Rotate();
        await using var after = await StartAsync(_ring.NewInstanceProtector(), name: "after");
        await after.Client.SendAsync(RedisTestApp.Post("/items", newKey));
        var replay = await after.Client.SendAsync(RedisTestApp.Post("/items", oldKey));

        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(oldBody, await replay.Content.ReadAsStringAsync());
        Assert.Equal(2, _endpoints.Executions("items"));
        var stored = await StoredAsync();
        Assert.All(stored, static s => Assert.Equal(StoredResponseSerializer.ProtectedFormatVersion, s.Snapshot[0]));
        Assert.Equal(2, stored.ConvertAll(static s => TestKeyRing.KeyIdOf(s.Snapshot)).Distinct().Count());
    }

    [Fact]
    public async Task A_tampered_protected_record_answers_500_and_never_runs_again()
    {
        await using var app = await StartAsync(_ring.Protector);
        var key = RedisTestApp.NewKey();
        await app.Client.SendAsync(RedisTestApp.Post("/items", key));
        var (redisKey, snapshot) = Assert.Single(await StoredAsync());
        snapshot[^3] ^= 0x20;
        var connection = await server.GetConnectionAsync();
        await connection.GetDatabase().HashSetAsync(redisKey, "r", snapshot);

        var retry = await app.Client.SendAsync(RedisTestApp.Post("/items", key));

        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, "idempotency-record-unreadable");
        Assert.Equal(1, _endpoints.Executions($"items:{key}"));
    }

    [Fact]
    public async Task An_instance_without_the_key_ring_answers_500_and_never_runs_again()
    {
        var key = RedisTestApp.NewKey();
        await using (var writer = await StartAsync(_ring.Protector, name: "writer"))
        {
            await writer.Client.SendAsync(RedisTestApp.Post("/items", key));
        }

        using var lost = new TestKeyRing();
        await using var reader = await StartAsync(lost.Protector, name: "reader");
        var retry = await reader.Client.SendAsync(RedisTestApp.Post("/items", key));

        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, "idempotency-record-unreadable");
        Assert.Equal(1, _endpoints.Executions($"items:{key}"));
    }

    [Fact]
    public async Task A_stream_keeps_its_window_of_responses_protected_and_replays_them()
    {
        var (connection, store) = await CreateProtectingStoreAsync();
        var secret = NewSecret();
        var response = new StoredResponse(201, [new("Location", $"/transfers/{secret}")], Encoding.UTF8.GetBytes(Body(secret)));
        byte[] fingerprint = [1, 2, 3];
        var lease = TimeSpan.FromSeconds(30);

        var begin = await store.TryBeginSequenceAsync("stream-1", 0, 1, fingerprint, lease, CancellationToken.None);
        Assert.True(await store.CompleteSequenceAsync("stream-1", begin.FencingToken, response, 4, TimeSpan.FromMinutes(5), CancellationToken.None));
        var replay = await store.TryBeginSequenceAsync("stream-1", 0, 1, fingerprint, lease, CancellationToken.None);
        var reused = await store.TryBeginSequenceAsync("stream-1", 0, 1, new byte[] { 9, 9, 9 }, lease, CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Completed, replay.Status);
        Assert.Equal(response.Body.ToArray(), replay.Response!.Body.ToArray());
        Assert.Equal($"/transfers/{secret}", replay.Response.Headers[0].Value.ToString());
        Assert.Equal(SequenceBeginStatus.FingerprintMismatch, reused.Status);

        var redis = connection.GetServer(connection.GetEndPoints()[0]);
        var values = 0;
        await foreach (var key in redis.KeysAsync(pattern: _prefix + "*"))
        {
            foreach (var entry in await connection.GetDatabase().HashGetAllAsync(key))
            {
                values++;
                Assert.False(Contains((byte[])entry.Value!, secret), $"Field {entry.Name} of {key} holds the response in plaintext.");
            }
        }

        Assert.True(values > 0);
    }

    [Fact]
    public async Task The_admin_inspection_reads_protected_records_and_stream_windows()
    {
        var (_, store) = await CreateProtectingStoreAsync();
        var secret = NewSecret();
        var response = new StoredResponse(201, [new("Location", $"/transfers/{secret}")], Encoding.UTF8.GetBytes(Body(secret)));
        byte[] fingerprint = [1, 2, 3];
        var lease = TimeSpan.FromSeconds(30);

        var record = await store.TryBeginAsync("record-1", fingerprint, lease, CancellationToken.None);
        Assert.True(await store.CompleteAsync("record-1", record.FencingToken, response, TimeSpan.FromMinutes(5), CancellationToken.None));
        var stream = await store.TryBeginSequenceAsync("stream-1", 0, 1, fingerprint, lease, CancellationToken.None);
        Assert.True(await store.CompleteSequenceAsync("stream-1", stream.FencingToken, response, 4, TimeSpan.FromMinutes(5), CancellationToken.None));

        var inspected = await store.InspectRecordAsync("record-1", CancellationToken.None);
        var window = (await store.InspectStreamAsync("stream-1", CancellationToken.None))!.Window;

        Assert.Equal(response.Body.ToArray(), inspected!.Response!.Body.ToArray());
        Assert.Equal($"/transfers/{secret}", inspected.Response.Headers[0].Value.ToString());
        Assert.Equal(response.Body.ToArray(), Assert.Single(window).Response.Body.ToArray());
    }
}
