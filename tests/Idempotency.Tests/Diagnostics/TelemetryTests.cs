using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Idempotency.Tests.Diagnostics;

/// <summary>
/// Activity listeners are process-wide, so these tests run alone: requests of tests running in parallel would
/// otherwise show up in their listeners.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests
{
    public static TheoryData<string, string, string> Outcomes => new()
    {
        { "executed", "items", "__Default" },
        { "replayed", "items", "__Default" },
        { "mismatch", "items", "__Default" },
        { "missing_key", "items", "__Default" },
        { "invalid", "items", "__Default" },
        { "pass_through", "optional", "optional" },
        { "store_unavailable", "items", "__Default" },
        { "fail_open", "fail-open", "fail-open" },
        { "not_replayable", "large/5000", "small" },
        { "missing_sequence", "seq", "sequence" },
        { "sequence_gap", "seq", "sequence" },
        { "already_applied", "seq", "sequence" },
        { "fenced", "seq", "sequence" },
    };

    [Theory]
    [MemberData(nameof(Outcomes))]
    public async Task Each_outcome_is_counted_with_its_policy_and_set_on_the_span(string outcome, string path, string policy)
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = ListenTo(activities);
        await using var app = await TestApp.StartAsync();
        using var requests = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.requests");

        await ProduceAsync(app, outcome, "/" + path);

        var last = requests.LastMeasurement;
        Assert.NotNull(last);
        Assert.Equal(outcome, last.Tags["idempotency.outcome"]);
        Assert.Equal(policy, last.Tags["idempotency.policy"]);
        Assert.Contains(activities, a => (string?)a.GetTagItem("idempotency.outcome") == outcome && (string?)a.GetTagItem("idempotency.policy") == policy);
    }

    [Fact]
    public async Task In_flight_rejections_are_counted()
    {
        await using var app = await TestApp.StartAsync();
        using var requests = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.requests");
        var original = app.Client.SendAsync(TestApp.Post("/gate", "k"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await app.Client.SendAsync(TestApp.Post("/gate", "k"));
        app.Handlers.Gate.SetResult();
        await original;

        Assert.Contains(requests.GetMeasurementSnapshot(), m => (string?)m.Tags["idempotency.outcome"] == "in_flight");
    }

    [Fact]
    public async Task First_execution_records_two_store_calls_as_metrics_and_span_events()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = ListenTo(activities);
        await using var app = await TestApp.StartAsync();
        using var durations = new MetricCollector<double>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.store.operation.duration");

        await app.Client.SendAsync(TestApp.Post("/items", "k"));

        var operations = durations.GetMeasurementSnapshot().Select(m => (string)m.Tags["idempotency.store.operation"]!).ToArray();
        Assert.Equal(["begin", "complete"], operations);
        Assert.All(durations.GetMeasurementSnapshot(), m => Assert.Equal(nameof(FaultyStore), m.Tags["idempotency.store"]));
        var span = Assert.Single(activities);
        Assert.Equal(2, span.Events.Count(e => e.Name == "idempotency.store.call"));
        Assert.Equal("key", span.GetTagItem("idempotency.mode"));
    }

    [Fact]
    public async Task Replay_records_one_store_call_and_the_snapshot_size_of_the_original()
    {
        await using var app = await TestApp.StartAsync();
        var meters = app.Services.GetRequiredService<IMeterFactory>();
        using var durations = new MetricCollector<double>(meters, "Idempotency", "idempotency.store.operation.duration");
        using var sizes = new MetricCollector<long>(meters, "Idempotency", "idempotency.snapshot.size");

        await app.Client.SendAsync(TestApp.Post("/large/1000", "k"));
        durations.Clear();
        await app.Client.SendAsync(TestApp.Post("/large/1000", "k"));

        Assert.Equal("begin", Assert.Single(durations.GetMeasurementSnapshot()).Tags["idempotency.store.operation"]);
        Assert.Equal(1000, Assert.Single(sizes.GetMeasurementSnapshot()).Value);
    }

    [Fact]
    public async Task Span_nests_under_the_server_request_activity()
    {
        var activities = new ConcurrentQueue<Activity>();
        using var listener = ListenTo(activities, "Microsoft.AspNetCore");
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/items", "k"));

        var request = Assert.Single(activities, a => a.Source.Name == "Microsoft.AspNetCore");
        var span = Assert.Single(activities, a => a.Source.Name == "Idempotency");
        Assert.Equal(request.TraceId, span.TraceId);
        Assert.Equal(request.SpanId, span.ParentSpanId);
    }

    private static ActivityListener ListenTo(ConcurrentQueue<Activity> activities, string? alsoSource = null)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Idempotency" || source.Name == alsoSource,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private static async Task ProduceAsync(TestApp app, string outcome, string path)
    {
        switch (outcome)
        {
            case "executed":
            case "pass_through":
            case "fail_open":
                if (outcome == "fail_open")
                {
                    app.Store.BeginOverride = static () => throw new IdempotencyStoreUnavailableException("down");
                }

                await app.Client.SendAsync(TestApp.Post(path, outcome == "pass_through" ? null : "k"));
                break;
            case "replayed":
            case "not_replayable":
                await app.Client.SendAsync(TestApp.Post(path, "k"));
                await app.Client.SendAsync(TestApp.Post(path, "k"));
                break;
            case "mismatch":
                await app.Client.SendAsync(TestApp.Post(path, "k", "{\"a\":1}"));
                await app.Client.SendAsync(TestApp.Post(path, "k", "{\"a\":2}"));
                break;
            case "missing_key":
                await app.Client.SendAsync(TestApp.Post(path, null));
                break;
            case "invalid":
                await app.Client.SendAsync(TestApp.Post(path, "\"bad"));
                break;
            case "store_unavailable":
                app.Store.BeginOverride = static () => throw new IdempotencyStoreUnavailableException("down");
                await app.Client.SendAsync(TestApp.Post(path, "k"));
                break;
            case "missing_sequence":
                await app.Client.SendAsync(TestApp.Sequenced(path, null));
                break;
            case "sequence_gap":
                await app.Client.SendAsync(TestApp.Sequenced(path, 5));
                break;
            case "already_applied":
                for (var n = 1; n <= 5; n++)
                {
                    await app.Client.SendAsync(TestApp.Sequenced(path, n));
                }

                await app.Client.SendAsync(TestApp.Sequenced(path, 1));
                break;
            case "fenced":
                await app.Client.SendAsync(TestApp.Sequenced(path, 1, epoch: 2));
                await app.Client.SendAsync(TestApp.Sequenced(path, 2, epoch: 1));
                break;
        }
    }
}
