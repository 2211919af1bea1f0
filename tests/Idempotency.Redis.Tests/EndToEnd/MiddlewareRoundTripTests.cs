using System.Net;
using Idempotency.Redis.Tests.Infrastructure;
using Xunit.Abstractions;
using Idempotency.Testing;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// The store costs of docs/redis-store.md measured through the real middleware, by the server itself (INFO commandstats): a first execution
/// is two round trips, a replay one, a pass-through none. The class has a server of its own, so no other test's traffic
/// lands in the counts; its tests run one after another.
/// </summary>
public sealed class MiddlewareRoundTripTests(RedisServerFixture server, ITestOutputHelper output) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private RedisTestApp _app = null!;

    public async Task InitializeAsync()
    {
        _app = await RedisTestApp.StartAsync(server.ConnectionString, TestStores.UniquePrefix("middleware-round-trips"));

        // The store connects on first use and StackExchange.Redis loads each script on its first call; the steady state,
        // which these tests measure, follows once the begin and complete scripts have run (the replay uses begin again).
        var key = RedisTestApp.NewKey();
        using var first = await _app.Client.SendAsync(RedisTestApp.Post("/items", key));
        using var replay = await _app.Client.SendAsync(RedisTestApp.Post("/items", key));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_first_execution_costs_two_evalsha_round_trips()
    {
        var key = RedisTestApp.NewKey();

        var (response, calls) = await MeasureAsync("first execution", RedisTestApp.Post("/items", key));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        AssertOnlyScripts(calls, expectedEvalsha: 2);
    }

    [Fact]
    public async Task A_replay_costs_one_evalsha_round_trip()
    {
        var key = RedisTestApp.NewKey();
        using var first = await _app.Client.SendAsync(RedisTestApp.Post("/items", key));

        var (replay, calls) = await MeasureAsync("replay", RedisTestApp.Post("/items", key));

        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await replay.Content.ReadAsByteArrayAsync());
        AssertOnlyScripts(calls, expectedEvalsha: 1);
    }

    [Fact]
    public async Task An_endpoint_without_idempotency_metadata_sends_nothing_to_Redis()
    {
        var (response, calls) = await MeasureAsync("pass-through (no metadata)", RedisTestApp.Post("/plain", RedisTestApp.NewKey()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertOnlyScripts(calls, expectedEvalsha: 0);
    }

    [Fact]
    public async Task An_optional_key_endpoint_called_without_a_key_sends_nothing_to_Redis()
    {
        var (response, calls) = await MeasureAsync("pass-through (optional key, none sent)", RedisTestApp.Post("/optional", key: null));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertOnlyScripts(calls, expectedEvalsha: 0);
    }

    [Fact]
    public async Task A_request_missing_its_required_key_is_refused_without_a_round_trip()
    {
        var (response, calls) = await MeasureAsync("key missing", RedisTestApp.Post("/items", key: null));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "idempotency-key-missing");
        AssertOnlyScripts(calls, expectedEvalsha: 0);
    }

    [Fact]
    public async Task A_duplicate_in_flight_and_a_reused_key_cost_one_evalsha_each()
    {
        var key = RedisTestApp.NewKey();
        var original = _app.Client.SendAsync(RedisTestApp.Post("/gate", key, "{\"a\":1}"));
        await _app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var (duplicate, duplicateCalls) = await MeasureAsync("duplicate in flight", RedisTestApp.Post("/gate", key, "{\"a\":1}"));
        var (reused, reusedCalls) = await MeasureAsync("reused key", RedisTestApp.Post("/gate", key, "{\"a\":2}"));
        _app.Handlers.Gate.SetResult();
        using var originalResponse = await original;

        await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, "idempotency-request-in-flight");
        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        AssertOnlyScripts(duplicateCalls, expectedEvalsha: 1);
        AssertOnlyScripts(reusedCalls, expectedEvalsha: 1);
        Assert.Equal(HttpStatusCode.OK, originalResponse.StatusCode);
    }

    private async Task<(HttpResponseMessage Response, IReadOnlyDictionary<string, long> Calls)> MeasureAsync(string what, HttpRequestMessage request)
    {
        await CommandStats.ResetAsync(server.Port);
        var response = await _app.Client.SendAsync(request);

        // The client has the whole response once SendAsync returns, and the middleware's last store call (complete)
        // is awaited before the response ends, so every command of this request has reached the server.
        var calls = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"{what}: {CommandStats.Format(calls)}");
        return (response, calls);
    }

    private static void AssertOnlyScripts(IReadOnlyDictionary<string, long> calls, int expectedEvalsha)
    {
        Assert.Equal(expectedEvalsha, calls.GetValueOrDefault("evalsha"));
        Assert.Equal(0, calls.GetValueOrDefault("eval"));
        Assert.Equal(0, calls.GetValueOrDefault("script"));

        // One HMGET per script: each script body ran exactly once, none was retried.
        Assert.Equal(expectedEvalsha, calls.GetValueOrDefault("hmget"));
        foreach (var command in calls.Keys)
        {
            Assert.True(
                command == "evalsha" || CommandStats.ScriptInternal.Contains(command) || CommandStats.IsHousekeeping(command),
                $"The request sent '{command}' to Redis besides its scripts.");
        }
    }
}
