using System.Diagnostics;
using System.Globalization;
using Idempotency.Chaos.History;
using Idempotency.Chaos.Hosting;
using Idempotency.Chaos.Reporting;
using Idempotency.Testing.Redis;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Scenarios;

/// <summary>
/// Redis at its <c>maxmemory</c> (docs/redis-store.md, "maxmemory-policy: noeviction"). Every operation is sent once,
/// then every one is retried. With an evicting policy Redis drops completed records within their retention to make
/// room, and the retry of an evicted one runs its operation again: the checker must count each such run as a
/// duplicate, since the first response was stored. The same load under <c>noeviction</c>: Redis refuses the writes
/// with OOM, the middleware answers 503, and nothing the store accepted is ever lost.
/// </summary>
public sealed class RedisEvictionScenarios(ITestOutputHelper output)
{
    private const int Instances = 3;

    private static readonly ChaosAppOptions Options = new();

    // Between sending and retrying: longer than a lease, so that a record whose completion Redis refused has expired
    // well before its retry (the retry then runs again, provably after the lease ended, instead of racing the expiry
    // within the uncertainty of the calls' times, which the checker would rightly count as a duplicate).
    private static readonly TimeSpan RetryAfter = Options.Lease + TimeSpan.FromSeconds(1);

    private static int Operations => ChaosScale.Pick(small: 400, full: 4000);

    // The room left above what Redis holds after the warm-up: a fraction of what the operations' records need, so
    // that the later ones cannot all fit.
    private static int Room => ChaosScale.Pick(small: 64 * 1024, full: 256 * 1024);

    [Fact]
    public async Task Redis_evicting_completed_records_at_maxmemory_runs_their_retries_again_and_the_checker_counts_each_as_a_duplicate()
    {
        // The policy is the server's from the start, so the store's start-up check sees it and warns (the default,
        // Warn) and serves, as a misconfigured production store would.
        await using var cluster = await ChaosCluster.StartAsync(Instances, Options, withProxy: false, "--maxmemory-policy", "allkeys-lru");
        var port = cluster.Redis.Port;
        var limit = await LimitMemoryAsync(port);
        var operations = Load.KeyOperations("evicted", Operations);
        var duration = Stopwatch.StartNew();

        await Load.BurstsAsync(cluster.Client, operations, duplicates: 1, operationsAtOnce: 16, RetryPolicy.Patient);
        await Task.Delay(RetryAfter);
        await Load.BurstsAsync(cluster.Client, operations, duplicates: 1, operationsAtOnce: 16, RetryPolicy.Patient);

        var report = await ConcurrencyScenarios.CheckAsync(cluster.History);
        var evicted = await StatAsync(port, "stats", "evicted_keys");
        var reexecutions = report.Executions - report.Operations;
        ScenarioReport.Publish(
            output, $"Redis at maxmemory, allkeys-lru: {Operations} keys, each sent then retried",
            $"maxmemory {limit / 1024} KiB ({Room / 1024} KiB above the warm-up); {evicted} records evicted, {reexecutions} operations run again",
            report, duration, bounds: null);
        output.WriteLine($"{evicted} keys evicted; {reexecutions} re-executions, {report.Duplicates} of them counted as duplicates by the checker.");

        Assert.True(evicted > 0, "Redis evicted nothing: the scenario proved nothing.");
        Assert.True(reexecutions > 0, $"No retry ran again after {evicted} evictions. {report}");

        // A retry can run again only where its record was evicted, and every such run is a duplicate: the first
        // response was stored, so nothing in the history may excuse the second. The only excuse is the contract's
        // own, for a response that never became the record: a record evicted while its handler ran (its completion
        // then finds no lease: fenced), or a completion Redis refused; one run each, once the lease provably ended.
        var notStored = cluster.History.Executions.Count(e => e.Completion is CompletionOutcome.Fenced or CompletionOutcome.Failed);
        Assert.True(reexecutions <= evicted, $"{reexecutions} re-executions for {evicted} evicted keys.");
        Assert.True(report.AllowedReexecutions <= notStored, $"{report.AllowedReexecutions} allowed re-executions for {notStored} responses not stored.");
        Assert.Equal(reexecutions - report.AllowedReexecutions, report.Duplicates);
        Assert.True(report.Duplicates > 0, $"The checker counted none of {reexecutions} re-executions as a duplicate. {report}");
        Assert.True(
            report.Violations.Count == report.Duplicates,
            string.Join('\n', report.Violations.Where(v => v.Kind != ViolationKind.DuplicateExecution).Take(20)));
    }

    [Fact]
    public async Task Redis_full_under_noeviction_answers_503_and_never_loses_a_stored_record()
    {
        await using var cluster = await ChaosCluster.StartAsync(Instances, Options, withProxy: false, "--maxmemory-policy", "noeviction");
        var port = cluster.Redis.Port;
        var limit = await LimitMemoryAsync(port);
        var operations = Load.KeyOperations("full", Operations);
        var duration = Stopwatch.StartNew();

        // Once Redis has refused writes for a while, the operator gives it room (as an alert on used memory would
        // have someone do); the clients' retries then get through.
        var load = Load.BurstsAsync(cluster.Client, operations, duplicates: 1, operationsAtOnce: 16, RetryPolicy.Patient);
        var refusedWhileFull = await RaiseMemoryWhenRefusedAsync(cluster.History, port, load);
        await load;
        await Task.Delay(RetryAfter);
        await Load.BurstsAsync(cluster.Client, operations, duplicates: 1, operationsAtOnce: 16, RetryPolicy.Patient);

        var report = await ConcurrencyScenarios.CheckAsync(cluster.History);
        var evicted = await StatAsync(port, "stats", "evicted_keys");
        var oom = await StatAsync(port, "errorstats", "errorstat_OOM");
        var refusedCompletions = cluster.History.Executions.Count(e => e.Completion == CompletionOutcome.Failed);

        // A completion Redis refused with OOM leaves its record in flight until the lease runs out; a retry may then
        // run the operation once more, which the contract allows and the checker must prove. Each such completion
        // can justify one, and no more.
        var bounds = new ScenarioBounds(
            Operations + Instances, MaxPerOperation: 2, refusedCompletions,
            $"one per completion Redis refused with OOM ({refusedCompletions} in this run): its record stays in flight until its lease ends");
        ScenarioReport.Publish(
            output, $"Redis at maxmemory, noeviction: {Operations} keys, each sent then retried",
            $"maxmemory {limit / 1024} KiB ({Room / 1024} KiB above the warm-up) until {refusedWhileFull} × 503, then raised; {oom} writes refused with OOM ({refusedCompletions} of them completions), {evicted} records evicted",
            report, duration, bounds);
        output.WriteLine($"{oom} OOM refusals, {report.Unavailable} × 503, {refusedCompletions} refused completions, {evicted} evictions.");

        report.AssertClean();
        report.AssertBounds(bounds);
        Assert.Equal(0, evicted);
        Assert.True(report.Unavailable > 0 && oom > 0, $"Redis never refused a write: the scenario proved nothing. {report}");
    }

    /// <summary>Sets <c>maxmemory</c> to what Redis holds now plus <see cref="Room"/>; returns the limit.</summary>
    private static async Task<long> LimitMemoryAsync(int port)
    {
        var limit = await StatAsync(port, "memory", "used_memory") + Room;
        await Resp.ExecuteAsync(port, "CONFIG", "SET", "maxmemory", limit.ToString(CultureInfo.InvariantCulture));
        return limit;
    }

    /// <summary>
    /// Waits until Redis has made the load answer 503 a number of times (or the load ended), then lifts the limit;
    /// returns how many 503s the clients had by then.
    /// </summary>
    private static async Task<int> RaiseMemoryWhenRefusedAsync(HistoryRecorder history, int port, Task load)
    {
        var refused = 0;
        var deadline = Stopwatch.StartNew();
        while (!load.IsCompleted && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            refused = history.Requests.Count(r => r.Status == 503);
            if (refused >= 50)
            {
                break;
            }

            await Task.Delay(50);
        }

        await Resp.ExecuteAsync(port, "CONFIG", "SET", "maxmemory", "0");
        return refused;
    }

    /// <summary>One field of <c>INFO <paramref name="section"/></c>; 0 when the server does not list it.</summary>
    private static async Task<long> StatAsync(int port, string section, string field)
    {
        var info = await Resp.ExecuteStringAsync(port, "INFO", section);
        foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                // errorstat_OOM:count=3 and evicted_keys:3 alike.
                var value = line[(field.Length + 1)..];
                var equals = value.IndexOf('=', StringComparison.Ordinal);
                return long.Parse(equals < 0 ? value : value[(equals + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
