using System.Diagnostics;
using Idempotency.Chaos.Faults;
using Idempotency.Chaos.History;
using Idempotency.Chaos.Hosting;
using Idempotency.Chaos.Reporting;
using Idempotency.Testing.PostgreSql;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Scenarios;

/// <summary>
/// Real processes, real crashes: three instances of tests/Idempotency.CrashTest.App share one PostgreSQL database,
/// every key is sent by many concurrent clients spread over the instances, and a killer SIGKILLs a random instance at
/// random moments and starts it again. The handler inserts one order row per execution with no unique guard, so the
/// rows count the executions. Clients retry (no answer, 5xx, 409 in flight) on another instance until they get one.
/// </summary>
public sealed class CrashScenarios(PostgreSqlServerFixture postgres, ITestOutputHelper output) : IClassFixture<PostgreSqlServerFixture>
{
    private const int Instances = 3;

    private static readonly CrashHandlerTiming Timing = new(
        BeforeSave: TimeSpan.FromMilliseconds(200), AfterSave: TimeSpan.FromMilliseconds(800), Lease: TimeSpan.FromSeconds(2));

    private static int Keys => ChaosScale.Pick(small: 100, full: 500);

    private static int Copies => ChaosScale.Pick(small: 16, full: 64);

    private static readonly RetryPolicy Clients = RetryPolicy.Patient with { RetryServerErrors = true };

    [Fact]
    public async Task Control_the_Redis_store_runs_an_unguarded_handler_again_when_its_process_is_killed_after_the_write()
    {
        var (report, kills, duration) = await RunAsync(CrashCluster.RedisStore, "redis");

        // Bounded by the kills: at most 8 keys race at a time, so a kill orphans at most 8 records, each good for one
        // extra row when its lease runs out.
        var bounds = new ScenarioBounds(
            Keys + Instances, MaxPerOperation: 1 + kills, MaxReexecutions: 0, "leases live in other processes: no times to prove one ended, so nothing is allowed and every extra row is a duplicate");
        Publish("control: Redis store, handler without unique guard", report, kills, duration, bounds);

        // The record and the row live apart: a process killed between the row's commit and the record's completion
        // leaves a record in flight whose lease runs out, and the retry inserts a second row. The checker must see it,
        // or it could not catch the transactional store failing. Leases live in other processes, so the history holds
        // no times to prove one ended: the checker allows nothing here, and every extra row is a duplicate.
        Assert.True(report.MaxExecutionsPerOperation > 1 && report.Duplicates > 0, $"No key ran twice in {kills} kills: the control proved nothing. {report}");
        Assert.Equal(0, report.AllowedReexecutions);
        report.AssertBounds(bounds);
        Assert.True(report.Duplicates <= 8 * kills, $"{report.Duplicates} extra rows in {kills} kills.");

        // Extra rows are all it may show: every answer is still an execution's own response or its exact replay, and
        // every client ends with its order.
        Assert.True(report.Violations.Count == report.Duplicates, string.Join('\n', report.Violations.Where(v => v.Kind != ViolationKind.DuplicateExecution).Take(20)));
    }

    [Fact]
    public async Task The_EF_Core_store_in_transactional_mode_writes_exactly_one_row_per_key_however_processes_are_killed()
    {
        var (report, kills, duration) = await RunAsync(CrashCluster.EntityFrameworkCoreStore, "efcore");

        var bounds = new ScenarioBounds(
            Keys + Instances, MaxPerOperation: 1, MaxReexecutions: 0, "the row and the record commit together: a killed process leaves neither, so nothing may run twice");
        Publish("EF Core store, transactional, handler without unique guard", report, kills, duration, bounds);
        report.AssertClean();
        report.AssertBounds(bounds);
    }

    private async Task<(CheckReport Report, int Kills, Stopwatch Duration)> RunAsync(string store, string prefix)
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var cluster = await CrashCluster.StartAsync(store, database, Instances, Timing, output.WriteLine);
        output.WriteLine($"PostgreSQL: {postgres.Kind}; app: {CrashAppProcess.AppPath}");
        var duration = Stopwatch.StartNew();

        using var stop = new CancellationTokenSource();
        var killer = ProcessKiller.KillAndRestartAsync(cluster.Instances, cluster.Database, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(1200), stop.Token);
        try
        {
            await Load.BurstsAsync(cluster.Client, CrashOperations.Orders(prefix, Keys), Copies, operationsAtOnce: 8, Clients);
        }
        finally
        {
            await stop.CancelAsync();
        }

        var kills = await killer;
        duration.Stop();
        var report = await cluster.CheckAsync();
        var watch = cluster.LockWatch!;
        output.WriteLine($"lock watch: {watch.LongTransactions} transactions seen open longer than {watch.Threshold.TotalSeconds:F0} s, in {watch.Snapshots} snapshots");
        Assert.True(kills > 0, "No process was killed: the scenario proved nothing.");
        return (report, kills, duration);
    }

    private void Publish(string what, CheckReport report, int kills, Stopwatch duration, ScenarioBounds bounds)
        => ScenarioReport.Publish(
            output,
            $"crash: {Instances} app processes, {what}, {Copies} copies × {Keys} keys",
            $"{kills} × SIGKILL of an app process, every other one just after a row was written, restarted at once, one down at a time (handler pauses ≤ {Timing.BeforeSave.TotalMilliseconds:F0} ms before its write, ≤ {Timing.AfterSave.TotalMilliseconds:F0} ms after; lease {Timing.Lease.TotalSeconds:F0} s)",
            report,
            duration,
            bounds,
            instancesKilled: kills);
}
