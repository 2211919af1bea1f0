using System.Net;
using System.Text;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// The local replay cache in front of Redis, measured by the server itself (INFO commandstats): a hot key costs one
/// round trip for its first replay and none after, its replays are the very bytes Redis would have replayed, and a
/// delete that did not go through this instance reaches it when the entry expires. The class has a server of its own,
/// so no other test's traffic lands in the counts; its tests run one after another.
/// </summary>
public sealed class LocalReplayOnRedisTests(RedisServerFixture server, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan Expiration = TimeSpan.FromSeconds(5);

    private Task<RedisTestApp> StartAsync(string prefix, string name = "A", RedisTestApp.TestEndpoints? endpoints = null, TimeProvider? time = null)
        => RedisTestApp.StartAsync(
            server.ConnectionString,
            prefix,
            endpoints,
            name,
            options =>
            {
                options.DefaultPolicy.UseLocalReplayCache = true;
                options.LocalReplayCache.Expiration = Expiration;
            },
            time: time);

    [Fact]
    public async Task A_hot_key_costs_one_round_trip_for_its_first_replay_and_none_after()
    {
        await using var app = await StartAsync(TestStores.UniquePrefix("local-replay-hot"));
        var key = RedisTestApp.NewKey();
        using var first = await app.Client.SendAsync(RedisTestApp.Post("/items", key));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        await CommandStats.ResetAsync(server.Port);
        using var fromRedis = await app.Client.SendAsync(RedisTestApp.Post("/items", key));
        var firstReplay = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"first replay: {CommandStats.Format(firstReplay)}");
        Assert.Equal(1, firstReplay.GetValueOrDefault("evalsha"));

        var expected = await DescribeAsync(fromRedis);
        await CommandStats.ResetAsync(server.Port);
        for (var i = 0; i < 50; i++)
        {
            using var replay = await app.Client.SendAsync(RedisTestApp.Post("/items", key));
            Assert.Equal(expected, await DescribeAsync(replay));
        }

        var hits = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"50 cached replays: {CommandStats.Format(hits)}");
        Assert.All(hits.Keys, command => Assert.True(CommandStats.IsHousekeeping(command), $"A cached replay sent '{command}' to Redis."));
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task A_retry_with_another_body_gets_422_from_the_cache_without_a_round_trip()
    {
        await using var app = await StartAsync(TestStores.UniquePrefix("local-replay-mismatch"));
        var key = RedisTestApp.NewKey();
        using var first = await app.Client.SendAsync(RedisTestApp.Post("/items", key));
        using var fromRedis = await app.Client.SendAsync(RedisTestApp.Post("/items", key));

        await CommandStats.ResetAsync(server.Port);
        using var reused = await app.Client.SendAsync(RedisTestApp.Post("/items", key, "{\"amount\":999}"));

        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(0, (await CommandStats.ReadAsync(server.Port)).GetValueOrDefault("evalsha"));
    }

    [Fact]
    public async Task A_record_deleted_by_another_instance_is_replayed_here_until_the_entry_expires_then_runs_again()
    {
        var time = new FakeTimeProvider();
        var prefix = TestStores.UniquePrefix("local-replay-instances");
        var endpoints = new RedisTestApp.TestEndpoints();
        await using var first = await StartAsync(prefix, "A", endpoints, time);
        await using var second = await StartAsync(prefix, "B", endpoints, time);
        var key = RedisTestApp.NewKey();
        using var original = await first.Client.SendAsync(RedisTestApp.Post("/items", key));
        using var fromRedis = await first.Client.SendAsync(RedisTestApp.Post("/items", key));
        var recordKey = first.Store.LastBeginKey!;

        Assert.True(await ((IIdempotencyAdminStore)second.Store).DeleteRecordAsync(recordKey, CancellationToken.None));

        time.Advance(Expiration - TimeSpan.FromMilliseconds(1));
        using var stale = await first.Client.SendAsync(RedisTestApp.Post("/items", key));
        Assert.Equal(await DescribeAsync(fromRedis), await DescribeAsync(stale));
        Assert.Equal(1, endpoints.Executions("items"));

        time.Advance(TimeSpan.FromMilliseconds(1));
        using var executed = await first.Client.SendAsync(RedisTestApp.Post("/items", key));
        Assert.Equal(HttpStatusCode.Created, executed.StatusCode);
        Assert.False(executed.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, endpoints.Executions("items"));
    }

    // Everything a client can observe of a response, in order: status, headers (content headers included), body.
    private static async Task<string> DescribeAsync(HttpResponseMessage response)
    {
        var text = new StringBuilder();
        text.Append((int)response.StatusCode).Append('\n');
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            text.Append(name).Append(": ").AppendJoin(", ", values).Append('\n');
        }

        text.Append('\n').Append(Convert.ToBase64String(await response.Content.ReadAsByteArrayAsync()));
        return text.ToString();
    }
}
