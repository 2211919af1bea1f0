using System.Diagnostics;
using System.Globalization;
using Idempotency.Chaos.History;
using Idempotency.Chaos.Hosting;
using Idempotency.Chaos.Reporting;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Scenarios;

/// <summary>
/// The in-memory store under a clock moved by FakeTimeProvider while handlers run. The contract (docs/contract.md §3, last row;
/// docs/contract-notes.md): a handler that runs for many leases keeps its record as long as its renewals reach the
/// store in time; when the clock jumps past the lease in one step (a paused process, a suspended VM: the renewal timer
/// fires only after the jump, too late), the lease has run out, a retry may take the record over and run the operation
/// a second time, and the late first handler's response reaches its own client but never becomes the record (fencing).
/// </summary>
public sealed class ClockJumpScenarios(ITestOutputHelper output)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan WaitBound = TimeSpan.FromSeconds(20);

    private static int Operations => ChaosScale.Pick(small: 20, full: 200);

    [Fact]
    public async Task Handlers_running_ten_leases_keep_their_records_through_renewals_and_run_once()
    {
        var time = NewClock();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = 0;
        var history = new HistoryRecorder(time);
        await using var app = await StartAsync(time, history, async _ =>
        {
            Interlocked.Increment(ref entered);
            await gate.Task;
        });
        var client = new ChaosClient([app], history);
        var operations = Load.KeyOperations("renewed", Operations);
        var duration = Stopwatch.StartNew();

        var originals = operations.Select(operation => client.RunAsync(operation, RetryPolicy.Patient)).ToList();
        await WaitUntilAsync(() => Volatile.Read(ref entered) == operations.Count, "every handler started");

        // Ten leases in steps of a sixth of one: every renewal (each third of a lease) fires on time.
        for (var step = 0; step < 60; step++)
        {
            time.Advance(Lease / 6);
        }

        var duplicates = operations.Select(operation => Load.BurstAsync(client, operation, 4, RetryPolicy.Patient)).ToList();
        await WaitUntilAsync(() => history.Requests.Count(r => r.Status == 409) >= operations.Count * 4, "every duplicate met its running original");
        Assert.Equal(operations.Count, history.Executions.Count);

        gate.SetResult();
        await Task.WhenAll(originals.Concat(duplicates));

        var report = await ConcurrencyScenarios.CheckAsync(history);
        var bounds = new ScenarioBounds(operations.Count, MaxPerOperation: 1, MaxReexecutions: 0, "renewals fire on time in every step, so no lease ever runs out");
        ScenarioReport.Publish(output, $"in-memory, {operations.Count} handlers run 10 leases", "FakeTimeProvider +30 s in 0.5 s steps (renewals on time)", report, duration, bounds);
        report.AssertClean();
        report.AssertBounds(bounds);
        Assert.All(history.Executions, execution => Assert.Equal(CompletionOutcome.Stored, execution.Completion));
    }

    [Fact]
    public async Task A_clock_jump_past_the_lease_lets_one_retry_take_over_and_fences_the_late_writer()
    {
        var time = NewClock();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = 0;
        var held = 1;
        var history = new HistoryRecorder(time);
        await using var app = await StartAsync(time, history, async _ =>
        {
            if (Volatile.Read(ref held) == 1)
            {
                Interlocked.Increment(ref entered);
                await gate.Task;
            }
        });
        var client = new ChaosClient([app], history);
        var operations = Load.KeyOperations("jumped", Operations);
        var duration = Stopwatch.StartNew();

        var late = operations.Select(operation => client.RunAsync(operation, RetryPolicy.Patient)).ToList();
        await WaitUntilAsync(() => Volatile.Read(ref entered) == operations.Count, "every handler started");

        // Three leases in one jump: the renewal timers fire only after it, when the leases have already run out.
        time.Advance(Lease * 3);

        // A retry takes each record over and runs the operation again, as the contract allows after a lease expired.
        Volatile.Write(ref held, 0);
        var takeovers = await Task.WhenAll(operations.Select(operation => client.RunAsync(operation, RetryPolicy.Patient)));
        Assert.All(takeovers, takeover => Assert.False(takeover.Replayed));

        // The late handlers finish; their clients get their own responses, but the store refuses their completions.
        gate.SetResult();
        var lateResponses = await Task.WhenAll(late);
        Assert.All(lateResponses, response => Assert.Equal(201, response.Status));

        // Every later retry replays the takeover's response, never the late writer's.
        var retries = await Task.WhenAll(operations.Select(operation => client.RunAsync(operation, RetryPolicy.Patient)));
        Assert.All(retries, retry => Assert.True(retry.Replayed));

        var report = await ConcurrencyScenarios.CheckAsync(history);
        // Exactly one more execution per operation, each justified by the late writer's lease: granted at the start,
        // never renewed in time, ended 3 s later on the store's (fake) clock, long before the takeover began at 9 s.
        var bounds = new ScenarioBounds(
            operations.Count, MaxPerOperation: 2, operations.Count, "one takeover per operation: every lease ran out in the jump, and each retry takes its record over once");
        ScenarioReport.Publish(
            output, $"in-memory, clock jumps 3 leases while {operations.Count} handlers run",
            "FakeTimeProvider +9 s in one jump (renewals late); retries take over", report, duration, bounds);
        report.AssertClean();
        report.AssertBounds(bounds);
        Assert.Equal(operations.Count, report.AllowedReexecutions);
        Assert.Equal(2, report.MaxExecutionsPerOperation);
        foreach (var perOperation in history.Executions.GroupBy(e => (e.Principal, e.Operation)))
        {
            Assert.Equal([CompletionOutcome.Fenced, CompletionOutcome.Stored], perOperation.OrderBy(e => e.Sequence).Select(e => e.Completion));
        }
    }

    private static Task<ChaosApp> StartAsync(FakeTimeProvider time, HistoryRecorder history, Func<HandlerContext, Task> beforeRespond)
        => ChaosApp.StartAsync("A", new ChaosAppOptions { Time = time, Lease = Lease, BeforeRespond = beforeRespond }, history);

    private static FakeTimeProvider NewClock() => new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < WaitBound, $"Not reached within {WaitBound}: {what}.");
            await Task.Delay(10);
        }
    }
}
