using System.Net;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Testing;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// The key-mode outcomes of docs/contract.md §3 with the middleware and the Redis store together: what the store's snapshot
/// format, scripts and fencing must carry for the middleware to answer as the contract says.
/// </summary>
public sealed class KeyModeOnRedisTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private RedisTestApp _app = null!;

    public async Task InitializeAsync() => _app = await RedisTestApp.StartAsync(server.ConnectionString, TestStores.UniquePrefix("key-mode"));

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_retry_replays_the_stored_status_headers_and_body_byte_for_byte_without_Set_Cookie()
    {
        var key = RedisTestApp.NewKey();

        using var first = await _app.Client.SendAsync(RedisTestApp.Post("/items", key));
        using var retry = await _app.Client.SendAsync(RedisTestApp.Post("/items", key));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.True(first.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        var firstBody = await first.Content.ReadAsByteArrayAsync();
        Assert.Equal(firstBody, await retry.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal("1", Assert.Single(retry.Headers.GetValues("X-Execution")));
        Assert.Equal(["a", "b"], retry.Headers.GetValues("X-Multi"));
        Assert.Equal("application/json", retry.Content.Headers.ContentType?.MediaType);
        Assert.Equal(firstBody.Length, retry.Content.Headers.ContentLength);
        Assert.False(retry.Headers.Contains("Set-Cookie"));
        Assert.Equal(1, _app.Handlers.Executions($"items:{key}"));
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_422_key_reused_and_does_not_run_again()
    {
        var key = RedisTestApp.NewKey();

        using var first = await _app.Client.SendAsync(RedisTestApp.Post("/items", key, "{\"amount\":100}"));
        using var reused = await _app.Client.SendAsync(RedisTestApp.Post("/items", key, "{\"amount\":999}"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, _app.Handlers.Executions($"items:{key}"));
    }

    [Fact]
    public async Task A_duplicate_while_the_first_is_in_flight_is_409_with_Retry_After_and_a_different_body_is_422()
    {
        var key = RedisTestApp.NewKey();
        var original = _app.Client.SendAsync(RedisTestApp.Post("/gate", key, "{\"a\":1}"));
        await _app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        using var duplicate = await _app.Client.SendAsync(RedisTestApp.Post("/gate", key, "{\"a\":1}"));
        using var conflicting = await _app.Client.SendAsync(RedisTestApp.Post("/gate", key, "{\"a\":2}"));
        _app.Handlers.Gate.SetResult();
        using var originalResponse = await original;
        using var retry = await _app.Client.SendAsync(RedisTestApp.Post("/gate", key, "{\"a\":1}"));

        await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, "idempotency-request-in-flight");
        Assert.Equal(TimeSpan.FromSeconds(1), duplicate.Headers.RetryAfter?.Delta);
        await ProblemAssert.IsProblemAsync(conflicting, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(HttpStatusCode.OK, originalResponse.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await originalResponse.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(1, _app.Handlers.Executions("gate"));
    }

    [Fact]
    public async Task A_response_over_the_snapshot_limit_reaches_the_client_whole_and_a_retry_is_409_not_replayable()
    {
        var key = RedisTestApp.NewKey();
        var size = RedisTestApp.SmallSnapshotLimit * 5;

        using var first = await _app.Client.SendAsync(RedisTestApp.Post($"/large/{size}", key));
        using var retry = await _app.Client.SendAsync(RedisTestApp.Post($"/large/{size}", key));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(size, (await first.Content.ReadAsByteArrayAsync()).Length);
        var problem = await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.Conflict, "idempotency-response-not-replayable");
        Assert.Equal(200, problem.GetProperty("originalStatus").GetInt32());
        Assert.Equal(1, _app.Handlers.Executions("large"));
    }

    [Fact]
    public async Task A_response_at_the_snapshot_limit_is_replayed_byte_for_byte()
    {
        var key = RedisTestApp.NewKey();

        using var first = await _app.Client.SendAsync(RedisTestApp.Post($"/large/{RedisTestApp.SmallSnapshotLimit}", key));
        using var retry = await _app.Client.SendAsync(RedisTestApp.Post($"/large/{RedisTestApp.SmallSnapshotLimit}", key));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("application/octet-stream", retry.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_status_that_is_not_stored_releases_the_record_so_a_retry_runs_again()
    {
        var key = RedisTestApp.NewKey();

        using var first = await _app.Client.SendAsync(RedisTestApp.Post("/status/503", key));
        using var retry = await _app.Client.SendAsync(RedisTestApp.Post("/status/503", key));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        Assert.Equal("status 503 execution 2", await retry.Content.ReadAsStringAsync());
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, _app.Store.Releases);
    }
}
