using System.Globalization;
using System.Net;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Middleware;

/// <summary>
/// A completed response is replayed for the whole of its policy's retention and forgotten after it, on the clock the
/// application runs on; the documented defaults (docs/configuration.md) are the ones in force.
/// </summary>
public sealed class RetentionTests
{
    private static FakeTimeProvider NewClock() => new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    [Fact]
    public async Task A_completed_response_is_replayed_until_the_default_retention_of_24_hours_ends_and_runs_again_after_it()
    {
        var clock = NewClock();
        await using var app = await TestApp.StartAsync(time: clock);
        await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        // Far past the lease (30 s): a retention cut to the lease would already have forgotten the response.
        clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        var lastReplay = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));
        clock.Advance(TimeSpan.FromSeconds(2));
        var afterRetention = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        Assert.Equal(HttpStatusCode.Created, lastReplay.StatusCode);
        Assert.True(lastReplay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("1", lastReplay.Headers.GetValues("X-Execution").Single());
        Assert.Equal(HttpStatusCode.Created, afterRetention.StatusCode);
        Assert.False(afterRetention.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("2", afterRetention.Headers.GetValues("X-Execution").Single());
        Assert.Equal(2, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task A_policys_own_retention_bounds_the_replay()
    {
        var clock = NewClock();
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("hour", p => p.Retention = TimeSpan.FromHours(1)),
            map: static app => app.MapPost("/hour", (HttpContext context) => Results.Text("hour execution " + Count(context))).RequireIdempotency("hour"),
            time: clock);
        await app.Client.SendAsync(TestApp.Post("/hour", "key-1"));

        clock.Advance(TimeSpan.FromMinutes(59));
        var replay = await app.Client.SendAsync(TestApp.Post("/hour", "key-1"));
        clock.Advance(TimeSpan.FromMinutes(2));
        var rerun = await app.Client.SendAsync(TestApp.Post("/hour", "key-1"));

        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("hour execution 1", await replay.Content.ReadAsStringAsync());
        Assert.False(rerun.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("hour execution 2", await rerun.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Policy_defaults_are_the_documented_ones()
    {
        var policy = new IdempotencyPolicy();
        var options = new IdempotencyOptions();

        Assert.Equal(TimeSpan.FromSeconds(30), policy.Lease);
        Assert.Equal(TimeSpan.FromHours(24), policy.Retention);
        Assert.Equal(1024 * 1024, policy.MaxSnapshotBytes);
        Assert.Equal(16, policy.SequenceWindow);
        Assert.Equal(TimeSpan.FromSeconds(10), policy.ConcurrentWaitTimeout);
        Assert.Equal(TimeSpan.Zero, policy.ReorderWait);
        Assert.Equal(TimeSpan.FromDays(30), policy.StreamRetention);
        Assert.Equal(TimeSpan.FromSeconds(30), options.DefaultPolicy.Lease);
        Assert.Equal(TimeSpan.FromHours(24), options.DefaultPolicy.Retention);
        Assert.Equal(1024 * 1024, options.DefaultPolicy.MaxSnapshotBytes);
        Assert.Equal(16, options.DefaultPolicy.SequenceWindow);
    }

    [Fact]
    public async Task The_default_snapshot_limit_of_1_MiB_is_in_force_at_the_middleware()
    {
        await using var app = await TestApp.StartAsync(map: static app => app.MapPost("/bytes/{size:int}", async (HttpContext context, int size) =>
        {
            var payload = new byte[size];
            payload.AsSpan().Fill((byte)'z');
            context.Response.ContentType = "application/octet-stream";
            await context.Response.Body.WriteAsync(payload);
        }).RequireIdempotency());

        await app.Client.SendAsync(TestApp.Post("/bytes/1048576", "at-limit"));
        var atLimit = await app.Client.SendAsync(TestApp.Post("/bytes/1048576", "at-limit"));
        await app.Client.SendAsync(TestApp.Post("/bytes/1048577", "past-limit"));
        var pastLimit = await app.Client.SendAsync(TestApp.Post("/bytes/1048577", "past-limit"));

        Assert.True(atLimit.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1048576, (await atLimit.Content.ReadAsByteArrayAsync()).Length);
        await ProblemAssert.IsProblemAsync(pastLimit, HttpStatusCode.Conflict, "idempotency-response-not-replayable");
    }

    [Fact]
    public async Task The_default_sequence_window_of_16_replays_the_16_latest_numbers_only()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("default-window", p => p.SequenceRequirement = SequenceRequirement.Required),
            map: static app => app.MapPost("/window", (HttpContext context) => Results.Text("window " + context.Request.Headers["Sequence-Number"])).RequireIdempotency("default-window"));
        for (var number = 1; number <= 17; number++)
        {
            Assert.Equal(HttpStatusCode.OK, (await app.Client.SendAsync(TestApp.Sequenced("/window", number))).StatusCode);
        }

        var oldestInWindow = await app.Client.SendAsync(TestApp.Sequenced("/window", 2));
        var leftTheWindow = await app.Client.SendAsync(TestApp.Sequenced("/window", 1));

        Assert.True(oldestInWindow.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("window 2", await oldestInWindow.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(leftTheWindow, HttpStatusCode.Conflict, "sequence-already-applied");
    }

    private static int Count(HttpContext context) => context.RequestServices.GetRequiredService<TestApp.Endpoints>().Count("hour");
}
