using System.Globalization;
using System.Net;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Middleware;

/// <summary>
/// An application's ShouldStoreResponse runs after the handler: however it behaves, the record is completed or
/// released by a rule, never left in flight for a retry to take over and run the handler again.
/// </summary>
public sealed class StorablePredicateTests
{
    private static FakeTimeProvider NewClock() => new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    [Fact]
    public async Task A_predicate_that_throws_falls_back_to_the_built_in_rule_and_a_retry_gets_the_replay()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("throwing-predicate", p =>
            {
                p.Lease = TimeSpan.FromSeconds(3);
                p.ShouldStoreResponse = static async _ =>
                {
                    await Task.Yield();
                    throw new InvalidOperationException("feature flag service down");
                };
            }),
            map: static app => app.MapPost("/charge", (TestApp.Endpoints e) => Results.Text($"charged {e.Count("charge")}"))
                .RequireIdempotency("throwing-predicate"),
            time: NewClock());

        var first = await app.Client.SendAsync(TestApp.Post("/charge", "k-1"));
        app.Time!.Advance(TimeSpan.FromSeconds(4));
        var retry = await app.Client.SendAsync(TestApp.Post("/charge", "k-1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("charged 1", await retry.Content.ReadAsStringAsync());
        Assert.Equal(1, app.Handlers.Executions("charge"));
    }

    [Fact]
    public async Task A_predicate_slower_than_the_lease_keeps_the_record_owned_so_a_duplicate_never_runs_the_handler()
    {
        var predicateEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var predicateGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("slow-predicate", p =>
            {
                p.Lease = TimeSpan.FromSeconds(3);
                p.ShouldStoreResponse = async _ =>
                {
                    predicateEntered.TrySetResult();
                    await predicateGate.Task;
                    return true;
                };
            }),
            map: static app => app.MapPost("/charge", (TestApp.Endpoints e) => Results.Text($"charged {e.Count("charge")}"))
                .RequireIdempotency("slow-predicate"),
            time: NewClock());

        var first = app.Client.SendAsync(TestApp.Post("/charge", "k-1"));
        await predicateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Four seconds in half-second steps: past the 3 s lease, with the renewal (every second) given time to run.
        for (var i = 0; i < 8; i++)
        {
            app.Time!.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(10);
        }

        var duplicate = await app.Client.SendAsync(TestApp.Post("/charge", "k-1"));
        predicateGate.SetResult();
        await first;

        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Equal(1, app.Handlers.Executions("charge"));
    }

    [Fact]
    public async Task A_predicate_that_never_answers_is_given_up_after_the_store_timeout_and_the_built_in_rule_decides()
    {
        var predicateEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("hanging-predicate", p => p.ShouldStoreResponse = _ =>
            {
                predicateEntered.TrySetResult();
                return new ValueTask<bool>(never.Task);
            }),
            map: static app => app.MapPost("/charge", (TestApp.Endpoints e) => Results.Text($"charged {e.Count("charge")}"))
                .RequireIdempotency("hanging-predicate"),
            time: NewClock());

        var first = app.Client.SendAsync(TestApp.Post("/charge", "k-1"));
        await predicateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        app.Time!.Advance(TimeSpan.FromSeconds(6));
        var response = await first.WaitAsync(TimeSpan.FromSeconds(10));
        var retry = await app.Client.SendAsync(TestApp.Post("/charge", "k-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("charge"));
    }
}
