using System.Globalization;
using System.Net;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Middleware;

/// <summary>
/// A request held by the middleware (a duplicate waiting for its original, an early number waiting for its gap) is
/// answered when its time is up, not later and not sooner, on the application's clock.
/// </summary>
public sealed class HoldTimeoutTests
{
    private static FakeTimeProvider NewClock() => new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    [Fact]
    public async Task A_waiting_duplicate_is_rejected_as_in_flight_with_retry_after_when_ConcurrentWaitTimeout_ends()
    {
        var clock = NewClock();
        await using var app = await TestApp.StartAsync(time: clock);
        var original = app.Client.SendAsync(TestApp.Post("/gate-wait", "key-1"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var duplicate = app.Client.SendAsync(TestApp.Post("/gate-wait", "key-1"));
        var heldFor = await AdvanceUntilAnsweredAsync(clock, duplicate, TimeSpan.FromSeconds(30));

        // The "wait" policy waits 10 s; polls are at most 250 ms apart and the clock moves in 100 ms steps.
        Assert.InRange(heldFor, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(11));
        var response = await duplicate;
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "idempotency-request-in-flight");
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        app.Handlers.Gate.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await original).StatusCode);
        Assert.Equal(1, app.Handlers.Executions("gate-wait"));
    }

    [Fact]
    public async Task An_early_number_is_answered_409_sequence_gap_when_ReorderWait_ends_before_the_gap_fills()
    {
        var clock = NewClock();
        await using var app = await TestApp.StartAsync(time: clock);
        await app.Client.SendAsync(TestApp.Sequenced("/seq-reorder", 1));

        var early = app.Client.SendAsync(TestApp.Sequenced("/seq-reorder", 3));
        var heldFor = await AdvanceUntilAnsweredAsync(clock, early, TimeSpan.FromSeconds(30));

        // The "sequence-reorder" policy holds an early number 5 s (and does not wait for concurrent duplicates).
        Assert.InRange(heldFor, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(6));
        var problem = await ProblemAssert.IsProblemAsync(await early, HttpStatusCode.Conflict, "sequence-gap");
        Assert.Equal(2, problem.GetProperty("expectedSequence").GetInt64());
        Assert.Equal(1, problem.GetProperty("lastSequence").GetInt64());
        Assert.Equal(["1"], app.Handlers.Applied);
    }

    [Fact]
    public async Task An_early_number_is_held_for_ReorderWait_even_when_the_policy_waits_longer_for_concurrent_duplicates()
    {
        var clock = NewClock();
        await using var app = await TestApp.StartAsync(
            configure: static options => options.AddPolicy("sequence-reorder-wait", p =>
            {
                p.SequenceRequirement = SequenceRequirement.Required;
                p.ReorderWait = TimeSpan.FromSeconds(5);
                p.ConcurrentRequests = ConcurrentRequestHandling.Wait;
                p.ConcurrentWaitTimeout = TimeSpan.FromSeconds(20);
            }),
            map: static app => app.MapPost("/seq-reorder-wait", () => Results.Text("applied")).RequireIdempotency("sequence-reorder-wait"),
            time: clock);
        await app.Client.SendAsync(TestApp.Sequenced("/seq-reorder-wait", 1));

        var early = app.Client.SendAsync(TestApp.Sequenced("/seq-reorder-wait", 3));
        var heldFor = await AdvanceUntilAnsweredAsync(clock, early, TimeSpan.FromSeconds(60));

        // Each kind of holding has its own bound: a gap ReorderWait, a duplicate in flight ConcurrentWaitTimeout.
        Assert.InRange(heldFor, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(6));
        await ProblemAssert.IsProblemAsync(await early, HttpStatusCode.Conflict, "sequence-gap");
    }

    [Fact]
    public async Task A_handler_that_throws_in_sequence_mode_releases_its_number_so_the_retry_runs_and_the_next_waits()
    {
        await using var app = await TestApp.StartAsync(map: static app => app.MapPost("/seq-throw", (HttpContext context) =>
        {
            var endpoints = context.RequestServices.GetService(typeof(TestApp.Endpoints)) as TestApp.Endpoints;
            if (endpoints!.Count("seq-throw") == 1)
            {
                throw new InvalidOperationException("handler failed");
            }

            return Results.Text("applied " + context.Request.Headers["Sequence-Number"], statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency("sequence"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(TestApp.Sequenced("/seq-throw", 1)));
        var next = await app.Client.SendAsync(TestApp.Sequenced("/seq-throw", 2));
        var retry = await app.Client.SendAsync(TestApp.Sequenced("/seq-throw", 1));
        var replay = await app.Client.SendAsync(TestApp.Sequenced("/seq-throw", 1));

        var gap = await ProblemAssert.IsProblemAsync(next, HttpStatusCode.Conflict, "sequence-gap");
        Assert.Equal(1, gap.GetProperty("expectedSequence").GetInt64());
        Assert.Equal(0, gap.GetProperty("lastSequence").GetInt64());
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("applied 1", await retry.Content.ReadAsStringAsync());
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Handlers.Executions("seq-throw"));
        Assert.Equal(1, app.Store.Releases);
    }

    /// <summary>Moves the clock in 100 ms steps until the request is answered; returns how far it moved.</summary>
    private static async Task<TimeSpan> AdvanceUntilAnsweredAsync(FakeTimeProvider clock, Task<HttpResponseMessage> request, TimeSpan limit)
    {
        var step = TimeSpan.FromMilliseconds(100);
        var moved = TimeSpan.Zero;
        while (!request.IsCompleted && moved < limit)
        {
            // Give the held request real time to make its poll and set its next timer before the clock moves on,
            // so a loaded machine shifts the answer by no more than a step or two.
            await Task.WhenAny(request, Task.Delay(20));
            await Task.Yield();
            clock.Advance(step);
            moved += step;
        }

        await request.WaitAsync(TimeSpan.FromSeconds(30));
        return moved;
    }
}
