using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Idempotency.Tests.Infrastructure;
using Idempotency.Tests.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Diagnostics;

/// <summary>
/// One key's story from the logs and the spans: every transition of a record or stream is one log event carrying the
/// record's store key, its fencing token and the trace id of the request that caused it, and one event on that
/// request's <c>idempotency</c> span. Runs alone: activity listeners are process-wide.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TransitionEventTests : IDisposable
{
    // The record's events: its transitions and the in-flight rejection, which names the record but changes nothing.
    private static readonly HashSet<string> RecordEvents =
    [
        "Executing", "Replayed", "InFlight", "LeaseLost", "CompletionFenced", "Released", "SequenceGap", "RolledBack",
        "LeaseRenewed", "Completed", "SequenceExecuting", "SequenceApplied", "SequenceReleased",
    ];

    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public TransitionEventTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == "Idempotency",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task First_execution_is_acquired_then_completed_under_the_requests_trace()
    {
        await using var app = await StartAsync();

        await app.Client.SendAsync(Traced(TestApp.Post("/items", "key-1"), out var trace));

        var events = Transitions(app);
        Assert.Equal(["Executing", "Completed"], Names(events));
        Assert.All(events, e => Assert.Equal(trace, e.TraceId));
        Assert.Single(events.Select(e => e.Record).Distinct());
        Assert.Equal(events[0].Token, events[1].Token);
        Assert.Equal("201", events[1].State["StatusCode"]);
        Assert.Equal("__Default", events[1].State["Policy"]);
        Assert.Equal(["idempotency.record.acquired", "idempotency.record.completed"], SpanEvents(trace));
        var completed = SpanEvent(trace, "idempotency.record.completed");
        Assert.Equal(events[0].Record, completed.Tags["idempotency.record"]);
        Assert.Equal(long.Parse(events[0].Token!, CultureInfo.InvariantCulture), completed.Tags["idempotency.fencing_token"]);
        Assert.Equal(201, completed.Tags["http.response.status_code"]);
    }

    [Fact]
    public async Task Replay_is_one_event_under_the_retrys_trace()
    {
        await using var app = await StartAsync();
        await app.Client.SendAsync(Traced(TestApp.Post("/items", "key-1"), out var first));

        await app.Client.SendAsync(Traced(TestApp.Post("/items", "key-1"), out var retry));

        var events = Transitions(app);
        Assert.Equal(["Executing", "Completed", "Replayed"], Names(events));
        Assert.Equal([first, first, retry], events.Select(e => e.TraceId));
        Assert.Single(events.Select(e => e.Record).Distinct());
        Assert.Equal(["idempotency.record.replayed"], SpanEvents(retry));
        Assert.Equal(events[0].Record, SpanEvent(retry, "idempotency.record.replayed").Tags["idempotency.record"]);
    }

    [Fact]
    public async Task Concurrent_duplicate_is_rejected_between_the_originals_acquisition_and_completion()
    {
        await using var app = await StartAsync();
        var original = app.Client.SendAsync(Traced(TestApp.Post("/gate", "key-1"), out var originalTrace));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var duplicate = await app.Client.SendAsync(Traced(TestApp.Post("/gate", "key-1"), out var duplicateTrace));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        app.Handlers.Gate.SetResult();
        await original;

        var events = Transitions(app);
        Assert.Equal(["Executing", "InFlight", "Completed"], Names(events));
        Assert.Single(events.Select(e => e.Record).Distinct());
        Assert.Equal([originalTrace, duplicateTrace, originalTrace], events.Select(e => e.TraceId));
    }

    [Fact]
    public async Task Takeover_after_lease_expiry_is_seen_by_the_old_owner_and_its_late_completion_is_fenced()
    {
        await using var app = await StartAsync(NewClock());
        app.Store.RenewOverride = static () => throw new InvalidOperationException("renewals fail");
        var late = app.Client.SendAsync(Traced(TestApp.Post("/gate-short", "key-1"), out var lateTrace));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        app.Time!.Advance(TimeSpan.FromSeconds(4));
        var gate = app.Handlers.Gate;
        app.Handlers.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Handlers.Gate.SetResult();
        await app.Client.SendAsync(Traced(TestApp.Post("/gate-short", "key-1"), out var newerTrace));

        // The renewals work again: the next one finds the record owned by the newer request.
        app.Store.RenewOverride = null;
        app.Time.Advance(TimeSpan.FromSeconds(1));
        await WaitForAsync(() => Names(Transitions(app)).Contains("LeaseLost"));
        gate.SetResult();
        await late;

        var events = Transitions(app);
        Assert.Equal(["Executing", "Executing", "Completed", "LeaseLost", "CompletionFenced"], Names(events));
        Assert.Equal([lateTrace, newerTrace, newerTrace, lateTrace, lateTrace], events.Select(e => e.TraceId));
        Assert.Single(events.Select(e => e.Record).Distinct());
        var (oldToken, newToken) = (events[0].Token, events[1].Token);
        Assert.NotEqual(oldToken, newToken);
        Assert.Equal([oldToken, newToken, newToken, oldToken, oldToken], events.Select(e => e.Token));
        Assert.Equal(["idempotency.record.acquired", "idempotency.record.taken_over", "idempotency.record.fenced"], SpanEvents(lateTrace));
    }

    [Fact]
    public async Task Late_completion_of_a_lapsed_lease_is_fenced_with_the_old_token()
    {
        await using var app = await StartAsync(NewClock());
        app.Store.RenewOverride = static () => throw new InvalidOperationException("renewals fail");
        var late = app.Client.SendAsync(Traced(TestApp.Post("/gate-short", "key-1"), out var lateTrace));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        app.Time!.Advance(TimeSpan.FromSeconds(4));
        var gate = app.Handlers.Gate;
        app.Handlers.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Handlers.Gate.SetResult();
        await app.Client.SendAsync(Traced(TestApp.Post("/gate-short", "key-1"), out var newerTrace));

        gate.SetResult();
        await late;

        var events = Transitions(app);
        Assert.Equal(["Executing", "Executing", "Completed", "CompletionFenced"], Names(events));
        Assert.Equal([lateTrace, newerTrace, newerTrace, lateTrace], events.Select(e => e.TraceId));
        Assert.Equal(events[0].Token, events[3].Token);
        Assert.Equal(LogLevel.Warning, events[3].Level);
        Assert.Equal(["idempotency.record.acquired", "idempotency.record.fenced"], SpanEvents(lateTrace));
    }

    [Fact]
    public async Task Lease_renewals_are_recorded_with_the_owners_token_and_trace()
    {
        await using var app = await StartAsync(NewClock());
        var original = app.Client.SendAsync(Traced(TestApp.Post("/gate-short", "key-1"), out var trace));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        app.Time!.Advance(TimeSpan.FromSeconds(1));
        await WaitForAsync(() => Names(Transitions(app)).Contains("LeaseRenewed"));
        app.Handlers.Gate.SetResult();
        await original;

        var events = Transitions(app);
        Assert.Equal(["Executing", "LeaseRenewed", "Completed"], Names(events));
        Assert.All(events, e => Assert.Equal(trace, e.TraceId));
        Assert.Single(events.Select(e => e.Token).Distinct());
        Assert.Equal(["idempotency.record.acquired", "idempotency.record.renewed", "idempotency.record.completed"], SpanEvents(trace));
    }

    [Fact]
    public async Task Server_error_releases_the_record_and_the_retry_acquires_it_anew()
    {
        await using var app = await StartAsync();

        await app.Client.SendAsync(Traced(TestApp.Post("/status/500", "key-1"), out var first));
        await app.Client.SendAsync(Traced(TestApp.Post("/status/500", "key-1"), out var retry));

        var events = Transitions(app);
        Assert.Equal(["Executing", "Released", "Executing", "Released"], Names(events));
        Assert.Equal([first, first, retry, retry], events.Select(e => e.TraceId));
        Assert.Equal("status not storable", events[1].State["Reason"]);
        Assert.Equal(events[0].Token, events[1].Token);
        Assert.NotEqual(events[0].Token, events[2].Token);
        Assert.Equal(["idempotency.record.acquired", "idempotency.record.released"], SpanEvents(first));
    }

    [Fact]
    public async Task Stream_numbers_are_acquired_applied_refused_as_gaps_and_released_on_one_stream_id()
    {
        await using var app = await StartAsync();

        await app.Client.SendAsync(Traced(TestApp.Sequenced("/seq", 1, stream: "account-7"), out var one));
        await app.Client.SendAsync(Traced(TestApp.Sequenced("/seq", 3, stream: "account-7"), out var gap));
        await app.Client.SendAsync(Traced(TestApp.Sequenced("/seq", 2, stream: "account-7"), out var two));
        await app.Client.SendAsync(Traced(TestApp.Sequenced("/seq", 2, stream: "account-7"), out var replay));
        await app.Client.SendAsync(Traced(TestApp.Sequenced("/seq-status/500", 3, stream: "account-7"), out var failed));

        var events = Transitions(app);
        Assert.Equal(
            ["SequenceExecuting", "SequenceApplied", "SequenceGap", "SequenceExecuting", "SequenceApplied", "Replayed", "SequenceExecuting", "SequenceReleased"],
            Names(events));
        Assert.Equal([one, one, gap, two, two, replay, failed, failed], events.Select(e => e.TraceId));
        Assert.Equal(["1", "1", "3", "2", "2", null, "3", "3"], events.Select(e => e.State.GetValueOrDefault("Number")));
        var stream = Assert.Single(events.Select(e => e.Record).Distinct());
        Assert.DoesNotContain("account-7", stream!, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["idempotency.stream.acquired", "idempotency.stream.applied"], SpanEvents(one));
        Assert.Equal(["idempotency.stream.gap"], SpanEvents(gap));
        Assert.Equal(["idempotency.stream.acquired", "idempotency.stream.released"], SpanEvents(failed));
        Assert.Equal(2L, SpanEvent(two, "idempotency.stream.applied").Tags["idempotency.sequence.number"]);
    }

    [Fact]
    public async Task Two_instances_on_one_store_name_the_record_alike_and_never_by_its_key_or_user()
    {
        await using var first = await StartAsync();
        await using var second = await StartAsync(shared: first.Store);

        await first.Client.SendAsync(Traced(TestApp.Post("/items", "order-1001-key", user: "alice"), out var original));
        var replay = await second.Client.SendAsync(Traced(TestApp.Post("/items", "order-1001-key", user: "alice"), out var retry));
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));

        var onFirst = Transitions(first);
        var onSecond = Transitions(second);
        Assert.Equal(["Executing", "Completed"], Names(onFirst));
        Assert.Equal(["Replayed"], Names(onSecond));
        Assert.Equal(original, onFirst[0].TraceId);
        Assert.Equal(retry, onSecond[0].TraceId);
        var record = onFirst[0].Record!;
        Assert.Equal(record, onSecond[0].Record);
        Assert.Matches("^[0-9A-F]{64}$", record);
        foreach (var logged in first.Logs.GetSnapshot().Concat(second.Logs.GetSnapshot()))
        {
            Assert.DoesNotContain("order-1001", logged.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("alice", logged.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Worker_operations_record_their_transitions_under_the_callers_trace()
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
        services.AddFakeLogging();
        services.AddIdempotency();
        await using var provider = services.BuildServiceProvider();
        var executor = provider.GetRequiredService<IIdempotentExecutor>();
        var logs = provider.GetRequiredService<FakeLogCollector>();
        var payload = "{\"order\":1001}"u8.ToArray();

        string first;
        using (var delivery = new Activity("delivery").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            first = delivery.TraceId.ToHexString();
            await executor.ExecuteAsync(new IdempotentOperation("message-1", payload), _ => ValueTask.FromResult(new Receipt("m", 1, "x")), WorkerJsonContext.Default.Receipt);
        }

        string redelivery;
        using (var delivery = new Activity("redelivery").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            redelivery = delivery.TraceId.ToHexString();
            await executor.ExecuteAsync(new IdempotentOperation("message-1", payload), _ => ValueTask.FromResult(new Receipt("m", 2, "x")), WorkerJsonContext.Default.Receipt);
        }

        var events = Transitions(logs);
        Assert.Equal(["Executing", "Completed", "Replayed"], Names(events));
        Assert.Equal([first, first, redelivery], events.Select(e => e.TraceId));
        var record = Assert.Single(events.Select(e => e.Record).Distinct());
        Assert.DoesNotContain("message-1", record!, StringComparison.Ordinal);
        Assert.Equal(["idempotency.record.acquired", "idempotency.record.completed"], SpanEvents(first));
    }

    private static FakeTimeProvider NewClock() => new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    private static async Task<LoggedApp> StartAsync(FakeTimeProvider? time = null, FaultyStore? shared = null)
    {
        var app = await TestApp.StartAsync(
            time: time,
            services: services =>
            {
                services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
                services.AddFakeLogging();
                if (shared is not null)
                {
                    services.AddSingleton(new FaultyStore(shared));
                }
            });
        return new LoggedApp(app);
    }

    // A W3C traceparent the server continues, so the test knows each request's trace id beforehand.
    private static HttpRequestMessage Traced(HttpRequestMessage request, out string traceId)
    {
        traceId = ActivityTraceId.CreateRandom().ToHexString();
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        return request;
    }

    private static List<Transition> Transitions(LoggedApp app) => Transitions(app.Logs);

    private static List<Transition> Transitions(FakeLogCollector logs)
    {
        var transitions = new List<Transition>();
        foreach (var record in logs.GetSnapshot())
        {
            if (record.Id.Name is { } name && RecordEvents.Contains(name) && record.Category?.StartsWith("Idempotency.", StringComparison.Ordinal) == true)
            {
                var state = new Dictionary<string, string?>();
                foreach (var pair in record.StructuredState ?? [])
                {
                    state[pair.Key] = pair.Value;
                }

                transitions.Add(new Transition(name, record.Level, state));
            }
        }

        return transitions;
    }

    private static string[] Names(List<Transition> events) => events.Select(e => e.Name).ToArray();

    private string[] SpanEvents(string traceId)
        => Span(traceId).Events.Where(e => e.Name != "idempotency.store.call").Select(e => e.Name).ToArray();

    private (string Name, Dictionary<string, object?> Tags) SpanEvent(string traceId, string name)
    {
        var found = Assert.Single(Span(traceId).Events, e => e.Name == name);
        return (found.Name, found.Tags.ToDictionary(t => t.Key, t => t.Value));
    }

    private Activity Span(string traceId) => Assert.Single(_spans, a => a.TraceId.ToHexString() == traceId);

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(5);
        }
    }

    private sealed record Transition(string Name, LogLevel Level, Dictionary<string, string?> State)
    {
        public string? Record => State.GetValueOrDefault("Record") ?? State.GetValueOrDefault("Stream");

        public string? TraceId => State.GetValueOrDefault("TraceId");

        public string? Token => State.GetValueOrDefault("FencingToken");
    }

    private sealed class LoggedApp(TestApp app) : IAsyncDisposable
    {
        public HttpClient Client => app.Client;

        public FaultyStore Store => app.Store;

        public TestApp.Endpoints Handlers => app.Handlers;

        public FakeTimeProvider? Time => app.Time;

        public FakeLogCollector Logs { get; } = app.Services.GetRequiredService<FakeLogCollector>();

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
