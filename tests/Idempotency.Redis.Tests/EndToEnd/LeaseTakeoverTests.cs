using System.Net;
using Idempotency.Redis.Tests.Infrastructure;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// A handler that outlives its lease, on Redis's real clock: another request takes the record over, and the late
/// handler's completion is fenced off so the newer owner's response is the one replayed (docs/contract.md §3, last row).
/// </summary>
[Collection(RealTimeCollection.Name)]
public sealed class LeaseTakeoverTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task A_handler_that_outlives_its_lease_answers_its_client_but_the_request_that_took_over_is_the_one_replayed()
    {
        var prefix = TestStores.UniquePrefix("lease-takeover");
        await using var app = await RedisTestApp.StartAsync(server.ConnectionString, prefix);

        // Renewals are what keep a slow handler's record; without them the lease runs out while the handler is held.
        app.Store.RenewOverride = static () => throw new InvalidOperationException("renewals fail in this test");
        var key = RedisTestApp.NewKey();
        var lateRequest = app.Client.SendAsync(RedisTestApp.Post("/lease-gate", key));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var lateGate = app.Handlers.Gate;

        // Wait exactly as long as Redis says the record has left, then check that it is gone: Redis's clock decides.
        var redisKey = $"{prefix}{{{app.Store.LastBeginKey}}}";
        var remaining = (long)(await server.ExecuteAsync("PTTL", redisKey))!;
        Assert.InRange(remaining, 1, (long)RedisTestApp.ShortLease.TotalMilliseconds);
        await RealTime.WaitAsync(TimeSpan.FromMilliseconds(remaining));
        Assert.Equal(0L, await server.ExecuteAsync("EXISTS", redisKey));
        Assert.True(app.Store.Renewals >= 1, "The lease should have been up for renewal while the handler was held.");

        // The retry takes the record over and runs to completion while the first handler is still held.
        app.Handlers.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Handlers.Gate.SetResult();
        using var takeover = await app.Client.SendAsync(RedisTestApp.Post("/lease-gate", key));
        Assert.Equal(HttpStatusCode.OK, takeover.StatusCode);
        Assert.False(takeover.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("lease-gate execution 2 on A", await takeover.Content.ReadAsStringAsync());

        // The late handler finishes: its client gets its response, but its completion must not overwrite the record.
        lateGate.SetResult();
        using var late = await lateRequest;
        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        Assert.Equal("lease-gate execution 1 on A", await late.Content.ReadAsStringAsync());
        Assert.Equal([true, false], app.Store.CompletionResults);

        using var replay = await app.Client.SendAsync(RedisTestApp.Post("/lease-gate", key));
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal("lease-gate execution 2 on A", await replay.Content.ReadAsStringAsync());
        Assert.Equal(2, app.Handlers.Executions("lease-gate"));
    }
}
