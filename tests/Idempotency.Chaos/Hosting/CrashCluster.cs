using Idempotency.Chaos.History;
using Idempotency.Testing.Redis;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// The crash harness's system: app instances as separate OS processes (tests/Idempotency.CrashTest.App) sharing one
/// PostgreSQL database for their business rows and one idempotency store, a redis-server started for it when the
/// store is Redis. Clients' attempts are recorded in one history; executions are read from the database afterwards.
/// </summary>
public sealed class CrashCluster : IAsyncDisposable
{
    /// <summary>The app's <c>Store</c> setting for the Redis store.</summary>
    public const string RedisStore = "redis";

    /// <summary>The app's <c>Store</c> setting for the EF Core store in transactional mode.</summary>
    public const string EntityFrameworkCoreStore = "efcore";

    private static readonly TimeSpan SettleBound = TimeSpan.FromSeconds(60);

    private CrashCluster(string database, RedisServerProcess? redis, IReadOnlyList<CrashAppProcess> instances)
    {
        Database = database;
        Redis = redis;
        Instances = instances;
        History = new HistoryRecorder();
        Client = new ChaosClient(instances, History);
    }

    /// <summary>The connection string of the database holding the business rows (and the EF Core store's records).</summary>
    public string Database { get; }

    public RedisServerProcess? Redis { get; }

    public IReadOnlyList<CrashAppProcess> Instances { get; }

    public HistoryRecorder History { get; }

    /// <summary>Reports transactions held too long in the database, and who holds them when a client gives up.</summary>
    public PostgreSqlLockWatch? LockWatch { get; private set; }

    public ChaosClient Client { get; }

    /// <param name="store"><see cref="RedisStore"/> or <see cref="EntityFrameworkCoreStore"/>.</param>
    /// <param name="database">A fresh PostgreSQL database; the instances create their tables in it.</param>
    /// <param name="instances">How many processes.</param>
    /// <param name="handler">The handler's pauses and the records' lease.</param>
    /// <param name="log">Where the lock watch (<see cref="PostgreSqlLockWatch"/>) writes; none without it.</param>
    public static async Task<CrashCluster> StartAsync(string store, string database, int instances, CrashHandlerTiming handler, Action<string>? log = null)
    {
        var redis = store == RedisStore ? await RedisServerProcess.StartNewAsync() : null;
        var settings = new Dictionary<string, string>
        {
            ["Store"] = store,
            ["ConnectionStrings__Postgres"] = database,
            ["Crash__BeforeSaveMilliseconds"] = Milliseconds(handler.BeforeSave),
            ["Crash__AfterSaveMilliseconds"] = Milliseconds(handler.AfterSave),
            ["Crash__LeaseMilliseconds"] = Milliseconds(handler.Lease),
        };
        if (redis is not null)
        {
            settings["ConnectionStrings__Redis"] = $"127.0.0.1:{redis.Port},connectTimeout=2000,connectRetry=1";
        }

        var apps = new List<CrashAppProcess>();
        for (var i = 0; i < instances; i++)
        {
            apps.Add(new CrashAppProcess($"app-{(char)('a' + i)}", settings));
        }

        var cluster = new CrashCluster(database, redis, apps);
        try
        {
            // All at once, as a deployment starts them: the schema must be created once whoever comes first.
            await Task.WhenAll(apps.Select(app => app.StartAsync()));
            await cluster.WarmUpAsync();
            if (log is not null)
            {
                // Handlers take about a second; ten is far beyond any of them, even on a starved machine.
                var watch = new PostgreSqlLockWatch(database, TimeSpan.FromSeconds(10), log);
                cluster.LockWatch = watch;
                cluster.Client.GaveUp = (operation, record) => watch.ClientGaveUpAsync(operation.Key ?? operation.Operation, record.Status);
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Reads the executions (business rows) back, once no instance has an order request left inside it.</summary>
    public async Task<CheckReport> CheckAsync()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        foreach (var instance in Instances)
        {
            while (await instance.InFlightAsync() > 0)
            {
                Assert.True(waited.Elapsed < SettleBound, $"Instance {instance.Name} still had requests in flight after {SettleBound}.");
                await Task.Delay(50);
            }
        }

        var executions = await BusinessRows.ReadAsync(Database, CrashOperations.Principal, History.Requests);
        return HistoryChecker.Check(History.Requests, executions);
    }

    /// <summary>One operation per instance, so that the scenario measures crashes, not JIT and connection start-up.</summary>
    private async Task WarmUpAsync()
    {
        for (var i = 0; i < Instances.Count; i++)
        {
            var record = await Client.RunAsync(CrashOperations.Order($"warmup-{i}"), RetryPolicy.Patient, firstInstance: i);
            if (!record.IsSuccess)
            {
                throw new InvalidOperationException($"Instance {Instances[i].Name} did not warm up: {record.Status} {record.Error}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (LockWatch is not null)
        {
            await LockWatch.DisposeAsync();
        }

        foreach (var app in Instances)
        {
            await app.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
    }

    private static string Milliseconds(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
