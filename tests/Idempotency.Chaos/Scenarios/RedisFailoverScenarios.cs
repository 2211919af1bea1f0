using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Idempotency.Chaos.History;
using Idempotency.Chaos.Hosting;
using Idempotency.Chaos.Reporting;
using Idempotency.Testing.Redis;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Scenarios;

/// <summary>
/// A replicated Redis failing over under load (docs/redis-store.md, "Replication and failover"): three instances
/// configured with a primary and its replica, keys sent by concurrent copies; the replication link starts lagging
/// (<see cref="Lag"/>, as a primary in trouble does), the primary is killed with SIGKILL and the replica promoted with
/// <c>REPLICAOF NO ONE</c>; the apps' connections find the new primary, and once the load is over every operation is
/// sent once more, as a client that lost its answer (or a late duplicate) would.
/// <para>
/// Redis replicates asynchronously, so without <c>ReplicasToAcknowledge</c> a completion the primary acknowledged in
/// the last <see cref="Lag"/> before it died is gone from the new primary, and the retry runs the operation again. The
/// contract documents that loss (docs/redis-store.md); it does not make the second run a permitted one: the first
/// response was stored and sent, so the checker counts every such run as a duplicate, and the scenario proves that each
/// one is the failover's (the first execution's store answer came within the lost window) rather than the store's.
/// With <c>ReplicasToAcknowledge = 1</c> a completion is reported written, and a lease acquired or renewed, only once
/// the replica has it; one whose <c>WAIT</c> got no answer because the primary died fails (a begin so is a 503 and runs
/// nothing). So no write the store reported may be lost, and the checker must find no duplicate at all: every rerun
/// must carry its proof (a completion that failed at the kill, which the new primary provably does not hold, and whose
/// lease had provably ended). The breakdown printed with a failure says which rule broke: a rerun after a completion
/// reported written (with too few replicas, or not), after a begin granted within the lost window, or otherwise.
/// </para>
/// </summary>
public sealed class RedisFailoverScenarios(ITestOutputHelper output)
{
    private const int Instances = 3;
    private const int Duplicates = 4;

    // How far the replica falls behind before the primary dies: the writes of the last Lag are lost (the replication
    // link drops what it holds when the primary's side closes, as a crash does). RedisFailoverTests' setting.
    private static readonly TimeSpan Lag = TimeSpan.FromMilliseconds(500);

    // Between the kill and the promotion: Sentinel takes at least its down-after-milliseconds to decide; the apps
    // meanwhile get errors (503) and their clients retry.
    private static readonly TimeSpan DetectionTime = TimeSpan.FromMilliseconds(500);

    // Slack for timing on a loaded machine: a completion answered more than this before the lost window began cannot
    // have been lost by the failover.
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(500);

    // Completions that must be landing on the lagging primary when it is killed.
    private const int MinimumAtRisk = 3;

    private static int Operations => ChaosScale.Pick(small: 60, full: 600);

    private static TimeSpan LoadDuration => ChaosScale.Pick(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20));

    // Every key operation and one warm-up per instance runs at least once.
    private static int ExpectedOperations => Operations + Instances;

    [Fact]
    public async Task Without_replica_acknowledgement_a_failover_loses_acknowledged_completions_and_the_checker_counts_each_rerun_as_a_duplicate()
    {
        var run = await FailOverUnderLoadAsync("failover", replicas: 0);
        var report = run.Report;
        var bounds = Bounds(run);
        ScenarioReport.Publish(
            output, "Redis failover under load, ReplicasToAcknowledge = 0", run.Faults, report, run.Duration, bounds, failovers: 1);
        output.WriteLine(run.Explained);

        // The loss the option exists for; were it 0, the run with the option could not be told from this one.
        Assert.True(run.AfterStoredCompletion > 0, $"No acknowledged completion was lost in the failover: the scenario proved nothing. {report}\n{run.Explained}");

        // Each is the failover's, not the store's: the first execution's store answer (its completion, or its begin)
        // came within the window the failover lost, and nothing else went wrong.
        Assert.True(run.Unexplained == 0, $"{run.Unexplained} duplicates the failover cannot have caused. {run.Explained}");
        Assert.True(
            report.Violations.Count == report.Duplicates,
            string.Join('\n', report.Violations.Where(v => v.Kind != ViolationKind.DuplicateExecution).Take(20)));
        report.AssertBounds(bounds);
    }

    [Fact]
    public async Task With_one_replica_to_acknowledge_a_failover_runs_no_operation_twice()
    {
        var run = await FailOverUnderLoadAsync("failover-wait", replicas: 1);
        var report = run.Report;
        var bounds = Bounds(run);
        ScenarioReport.Publish(
            output, "Redis failover under load, ReplicasToAcknowledge = 1", run.Faults, report, run.Duration, bounds, failovers: 1);
        output.WriteLine(run.Explained);

        // The option's promise: no completion reported written and no lease reported acquired was lost, so not one
        // operation ran twice beyond the re-executions the checker proves allowed.
        Assert.True(
            report.Duplicates == 0,
            $"{report.Duplicates} duplicates ({run.AfterStoredCompletion} after a completion reported written, {run.AfterShortfall} of them with too few replicas; {run.AfterLostBegin} after a lost begin; {run.Unexplained} otherwise):\n" +
            string.Join('\n', report.Violations.Where(v => v.Kind == ViolationKind.DuplicateExecution).Take(20)));
        Assert.True(report.Violations.Count == 0, string.Join('\n', report.Violations.Take(20)));
        report.AssertBounds(bounds);

        // The failover was felt: completions under way at the kill failed, and their reruns needed the proof.
        Assert.True(run.FailedCompletions > 0, $"No completion was under way at the kill: the scenario proved nothing. {report}");
    }

    /// <summary>
    /// One execution per operation, two at most (the lost one and the rerun), and allowed re-executions only for
    /// completions that failed at the kill (under way when the primary died).
    /// </summary>
    private static ScenarioBounds Bounds(FailoverRun run)
        => new(
            ExpectedOperations, MaxPerOperation: 2, run.FailedCompletions,
            $"one per completion that failed at the kill ({run.FailedCompletions} in this run: under way when the primary died, or, with ReplicasToAcknowledge, its WAIT unanswered): " +
            "its record is not known to be stored, and its retry may run once the lease provably ended and the new primary provably does not hold it");

    private static async Task<FailoverRun> FailOverUnderLoadAsync(string prefix, int replicas)
    {
        var options = new ChaosAppOptions
        {
            StoreTimeout = TimeSpan.FromSeconds(1),
            Lease = TimeSpan.FromSeconds(2),
            ReplicasToAcknowledge = replicas,

            // Above the lag, so that a healthy WAIT succeeds; below the connection's own timeout (2 × StoreTimeout).
            ReplicaAcknowledgeTimeout = TimeSpan.FromSeconds(1),
        };
        await using var cluster = await ChaosCluster.StartReplicatedAsync(Instances, options);
        var pair = cluster.Replication!;
        RedisServerProcess? replacement = null;
        try
        {
            return await FailOverUnderLoadAsync(cluster, pair, prefix, options, started => replacement = started);
        }
        finally
        {
            if (replacement is not null)
            {
                await replacement.DisposeAsync();
            }
        }
    }

    private static async Task<FailoverRun> FailOverUnderLoadAsync(
        ChaosCluster cluster, RedisReplicationPair pair, string prefix, ChaosAppOptions options, Action<RedisServerProcess> replacementStarted)
    {
        using var shortfalls = new ShortfallListener();
        var operations = Load.KeyOperations(prefix, Operations);
        var killedAt = TimeSpan.Zero;
        var lagFrom = TimeSpan.Zero;
        var duration = Stopwatch.StartNew();

        await Task.WhenAll(
            Load.PacedAsync(cluster.Client, operations, Duplicates, LoadDuration, RetryPolicy.Patient),
            Task.Run(async () =>
            {
                await Task.Delay(LoadDuration / 2);
                pair.Link.Delay = Lag;
                lagFrom = cluster.History.Now;
                await Task.Delay(Lag);

                // The kill comes once completions are landing on the lagging primary (a starved machine may pause the
                // load), so that the failover has something to lose; at the latest when the load would be over.
                var waiting = Stopwatch.StartNew();
                while (CompletionsSince(cluster.History, cluster.History.Now - Lag) < MinimumAtRisk && waiting.Elapsed < LoadDuration / 2)
                {
                    await Task.Delay(10);
                }

                killedAt = cluster.History.Now;
                await pair.KillPrimaryAsync();
                await Task.Delay(DetectionTime);
                await pair.PromoteReplicaAsync();

                // A new replica for the new primary, as Sentinel (the old primary rejoining) or a managed service
                // provides: without one, every WAIT on the new primary would fall short after its whole timeout.
                var replica = await RedisServerProcess.StartNewAsync(
                    "--replicaof", "127.0.0.1", pair.Replica.Port.ToString(CultureInfo.InvariantCulture), "--repl-diskless-sync-delay", "0");
                replacementStarted(replica);
            }));

        // Later than a lease, so that records left in flight by the failover have expired: every operation once more.
        await Task.Delay(options.Lease + TimeSpan.FromSeconds(1));
        await Load.BurstsAsync(cluster.Client, operations, duplicates: 1, operationsAtOnce: 16, RetryPolicy.Patient);
        var report = await ConcurrencyScenarios.CheckAsync(cluster.History);

        // The writes the failover can have lost reached the primary within the last Lag before the kill (and after the
        // link began to lag); a store answer that came earlier than that, with slack for a loaded machine, was safe.
        var windowStart = (lagFrom > killedAt - Lag ? lagFrom : killedAt - Lag) - Slack;
        var (afterStored, afterShortfall, afterLostBegin, unexplained) = (0, 0, 0, 0);
        foreach (var (_, executions) in DuplicatedOperations(report, cluster.History))
        {
            var first = executions[0];
            if (first.Completion == CompletionOutcome.Stored && first.CompletionEndedAt >= windowStart)
            {
                afterStored++;
                afterShortfall += shortfalls.Contains(first) ? 1 : 0;
            }
            else if (first.Completion != CompletionOutcome.Stored && first.Lease is { } lease && lease.GrantedAfter >= windowStart)
            {
                afterLostBegin++;
            }
            else
            {
                unexplained++;
            }
        }

        var failed = cluster.History.Executions.Count(e => e.Completion == CompletionOutcome.Failed);
        var atRisk = cluster.History.Executions.Count(e => e.Completion == CompletionOutcome.Stored && e.CompletionEndedAt >= killedAt - Lag && e.CompletionEndedAt <= killedAt);
        var faults = $"link lagging {Lag.TotalMilliseconds:F0} ms, primary SIGKILLed {killedAt.TotalSeconds:F1} s into the run, replica promoted {DetectionTime.TotalMilliseconds:F0} ms later (a new replica attached); " +
            $"{failed} completions failed at the kill, {shortfalls.Count} WAIT shortfalls";
        var explained = $"{atRisk} completions reported written in the last {Lag.TotalMilliseconds:F0} ms before the kill. Duplicates: {afterStored} after a completion reported written within the lost window ({afterShortfall} of them reported with too few replicas), " +
            $"{afterLostBegin} after a begin granted within it whose completion was not stored (a lost begin), {unexplained} otherwise; " +
            $"{failed} completions failed, {shortfalls.Count} WAIT shortfalls (failed WAITs included).";
        return new FailoverRun(report, duration, faults, failed, afterStored, afterShortfall, afterLostBegin, unexplained, explained);
    }

    /// <summary>Completions the store reported written (or failed) since <paramref name="since"/>.</summary>
    private static int CompletionsSince(HistoryRecorder history, TimeSpan since)
    {
        var count = 0;
        foreach (var execution in history.Executions)
        {
            count += execution.Completion is CompletionOutcome.Stored or CompletionOutcome.Failed && execution.CompletionEndedAt >= since ? 1 : 0;
        }

        return count;
    }

    /// <summary>Each operation the checker found a duplicate in, with its executions in order.</summary>
    private static IEnumerable<((string Principal, string Operation) Operation, List<ExecutionRecord> Executions)> DuplicatedOperations(CheckReport report, HistoryRecorder history)
    {
        var duplicated = report.Violations.Where(v => v.Kind == ViolationKind.DuplicateExecution).Select(v => (v.Principal, v.Operation)).ToHashSet();
        return history.Executions
            .Where(e => duplicated.Contains((e.Principal, e.Operation)))
            .GroupBy(e => (e.Principal, e.Operation))
            .Select(g => (g.Key, g.OrderBy(e => e.Sequence).ToList()));
    }

    private sealed record FailoverRun(
        CheckReport Report, Stopwatch Duration, string Faults, int FailedCompletions, int AfterStoredCompletion, int AfterShortfall, int AfterLostBegin, int Unexplained, string Explained);

    /// <summary>
    /// The executions whose completion's <c>WAIT</c> the store reported failed or short
    /// (<c>idempotency.redis.replica_ack_shortfall</c>): the counter is added on the completion's own flow, where the
    /// request's trace names its execution.
    /// </summary>
    private sealed class ShortfallListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<ExecutionRecord, byte> _executions = new();
        private int _count;

        public ShortfallListener()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Idempotency" && instrument.Name == "idempotency.redis.replica_ack_shortfall")
                {
                    listener.EnableMeasurementEvents(instrument, this);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, _, state) => ((ShortfallListener)state!).Add());
            _listener.Start();
        }

        public int Count => Volatile.Read(ref _count);

        public bool Contains(ExecutionRecord execution) => _executions.ContainsKey(execution);

        public void Dispose() => _listener.Dispose();

        private void Add()
        {
            Interlocked.Increment(ref _count);
            if (RequestTrace.Current?.Execution is { } execution)
            {
                _executions.TryAdd(execution, 0);
            }
        }
    }
}
