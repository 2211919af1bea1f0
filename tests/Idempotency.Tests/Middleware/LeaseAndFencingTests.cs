using System.Globalization;
using System.Net;
using Idempotency.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Idempotency.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using System.Diagnostics.Metrics;

namespace Idempotency.Tests.Middleware;

public sealed class LeaseAndFencingTests
{
    private static FakeTimeProvider NewClock() => new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    [Fact]
    public async Task Lease_is_renewed_while_a_slow_handler_runs_so_duplicates_stay_rejected()
    {
        await using var app = await TestApp.StartAsync(time: NewClock());
        var original = app.Client.SendAsync(TestApp.Post("/gate-short", "key-1"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Three leases' worth of time, in steps shorter than the renewal interval (lease 3 s, renewal every 1 s).
        for (var i = 0; i < 18; i++)
        {
            app.Time!.Advance(TimeSpan.FromMilliseconds(500));
            await WaitForAsync(() => app.Store.Renewals >= (i + 1) / 2);
        }

        var duplicate = await app.Client.SendAsync(TestApp.Post("/gate-short", "key-1"));
        await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, "idempotency-request-in-flight");
        Assert.True(app.Store.Renewals >= 8, $"renewals: {app.Store.Renewals}");

        app.Handlers.Gate.SetResult();
        await original;
        Assert.Equal(1, app.Handlers.Executions("gate-short"));
    }

    [Fact]
    public async Task Fast_handler_costs_no_renewal()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        Assert.Equal(1, app.Store.Begins);
        Assert.Equal(1, app.Store.Completions);
        Assert.Equal(0, app.Store.Renewals);
        Assert.Equal(0, app.Store.Releases);
    }

    [Fact]
    public async Task Handler_that_outlives_its_lease_cannot_overwrite_the_newer_owners_record()
    {
        await using var app = await TestApp.StartAsync(time: NewClock());
        app.Store.RenewOverride = static () => throw new InvalidOperationException("renewals fail");
        var late = app.Client.SendAsync(TestApp.Post("/gate-short", "key-1"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        app.Time!.Advance(TimeSpan.FromSeconds(4));
        var gate = app.Handlers.Gate;
        app.Handlers.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Handlers.Gate.SetResult();
        var newer = await app.Client.SendAsync(TestApp.Post("/gate-short", "key-1"));
        Assert.Equal("gate execution 2", await newer.Content.ReadAsStringAsync());

        gate.SetResult();
        var lateResponse = await late;
        Assert.Equal("gate execution 1", await lateResponse.Content.ReadAsStringAsync());

        var replay = await app.Client.SendAsync(TestApp.Post("/gate-short", "key-1"));
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("gate execution 2", await replay.Content.ReadAsStringAsync());
        Assert.Equal(2, app.Store.Completions);
    }

    [Fact]
    public async Task A_late_writer_fenced_off_by_the_newer_owner_is_counted_as_a_lost_lease_and_logged()
    {
        await using var app = await TestApp.StartAsync(time: NewClock(), services: static services => services.AddFakeLogging());

        // Renewals seem to succeed but never reach the store, so the fenced completion is the only place the late
        // writer can learn that its lease was lost.
        app.Store.RenewOverride = static () => ValueTask.FromResult(true);
        using var lost = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.leases.lost");
        var logs = app.Services.GetRequiredService<FakeLogCollector>();
        var late = app.Client.SendAsync(TestApp.Post("/gate-short", "key-1"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        app.Time!.Advance(TimeSpan.FromSeconds(4));
        var gate = app.Handlers.Gate;
        app.Handlers.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Handlers.Gate.SetResult();
        Assert.Equal("gate execution 2", await (await app.Client.SendAsync(TestApp.Post("/gate-short", "key-1"))).Content.ReadAsStringAsync());
        Assert.Empty(lost.GetMeasurementSnapshot());
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Name == "CompletionFenced");

        gate.SetResult();
        await late;

        var measurement = Assert.Single(lost.GetMeasurementSnapshot());
        Assert.Equal(1, measurement.Value);
        Assert.Equal("FaultyStore", measurement.Tags["idempotency.store"]);
        var fenced = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "CompletionFenced");
        Assert.Equal(10, fenced.Id.Id);
        Assert.Equal(LogLevel.Warning, fenced.Level);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(5);
        }
    }
}
