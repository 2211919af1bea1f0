using Idempotency.Chaos.Faults;
using Idempotency.Chaos.History;
using Idempotency.Testing.Redis;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// A scenario's whole system: one redis-server started for it (killed by PID at the end), optionally a TCP proxy in
/// front of it, and app instances on 127.0.0.1 that each hold their own connection to Redis (through the proxy when
/// there is one), all recording into one history.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    private readonly RedisMonitor _monitor;

    private ChaosCluster(RedisServerProcess redis, RedisMonitor monitor, TcpProxy? proxy, IReadOnlyList<ChaosApp> instances, HistoryRecorder history)
    {
        Redis = redis;
        _monitor = monitor;
        Proxy = proxy;
        Instances = instances;
        History = history;
        Client = new ChaosClient(instances, history);
    }

    /// <summary>The principal of the warm-up requests, which handler hooks may let through at once.</summary>
    public const string WarmUpPrincipal = "warmup";

    public RedisServerProcess Redis { get; }

    public TcpProxy? Proxy { get; }

    public IReadOnlyList<ChaosApp> Instances { get; }

    public HistoryRecorder History { get; }

    public ChaosClient Client { get; }

    /// <param name="instances">How many app instances share the server.</param>
    /// <param name="options">The apps' options; <see cref="ChaosAppOptions.Redis"/> is filled in.</param>
    /// <param name="withProxy">Whether the apps reach Redis through a <see cref="TcpProxy"/>.</param>
    /// <param name="redisArguments">Extra redis-server arguments (persistence, debug commands).</param>
    public static async Task<ChaosCluster> StartAsync(int instances, ChaosAppOptions options, bool withProxy = false, params string[] redisArguments)
    {
        var redis = await RedisServerProcess.StartNewAsync(["--enable-debug-command", "yes", .. redisArguments]);
        var history = new HistoryRecorder();
        var monitor = await RedisMonitor.StartAsync(redis.Port, history);
        var proxy = withProxy ? new TcpProxy(redis.Port, () => history.Now) : null;

        // The apps fail fast on a broken connection (the store sets FailFast) and reconnect quickly; asyncTimeout is
        // StackExchange.Redis's own bound, kept above StoreTimeout so that the middleware's bound is the one that acts.
        var timeoutMs = (int)(options.StoreTimeout.TotalMilliseconds * 2);
        var configuration = $"127.0.0.1:{proxy?.Port ?? redis.Port},connectTimeout=2000,asyncTimeout={timeoutMs},syncTimeout={timeoutMs},connectRetry=1";
        var apps = new List<ChaosApp>();
        var appOptions = new ChaosAppOptions
        {
            Redis = configuration,
            KeyPrefix = options.KeyPrefix,
            IdempotencyEnabled = options.IdempotencyEnabled,
            StoreTimeout = options.StoreTimeout,
            Lease = options.Lease,
            LargeSnapshotLimit = options.LargeSnapshotLimit,
            MaxRequestBodySize = options.MaxRequestBodySize,
            BeforeRespond = options.BeforeRespond,
            WrapStore = options.WrapStore,
            StoreLatencyFloor = proxy is null ? null : proxy.MinimumLatency,
            CommandLog = monitor,
        };
        for (var i = 0; i < instances; i++)
        {
            apps.Add(await ChaosApp.StartAsync(((char)('A' + i)).ToString(), appOptions, history));
        }

        var cluster = new ChaosCluster(redis, monitor, proxy, apps, history);
        await cluster.WarmUpAsync();
        return cluster;
    }

    /// <summary>
    /// Connects every instance's store and loads its scripts, so the scenario measures faults, not start-up. The
    /// warm-up requests are part of the history like any other.
    /// </summary>
    private async Task WarmUpAsync()
    {
        var warmUps = new Task<RequestRecord>[Instances.Count];
        for (var i = 0; i < Instances.Count; i++)
        {
            warmUps[i] = Client.RunAsync(OperationRequest.ForKey(WarmUpPrincipal, $"warmup-{i}"), RetryPolicy.Patient, firstInstance: i);
        }

        var records = await Task.WhenAll(warmUps);
        for (var i = 0; i < records.Length; i++)
        {
            if (!records[i].IsSuccess)
            {
                throw new InvalidOperationException($"Instance {Instances[i].Name} did not warm up: {records[i].Status} {records[i].Error}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in Instances)
        {
            await app.DisposeAsync();
        }

        if (Proxy is not null)
        {
            await Proxy.DisposeAsync();
        }

        await _monitor.DisposeAsync();

        await Redis.DisposeAsync();
    }
}
