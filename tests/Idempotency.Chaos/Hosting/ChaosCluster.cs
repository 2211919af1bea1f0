using Idempotency.Chaos.Faults;
using Idempotency.Chaos.History;
using Idempotency.Testing.Redis;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// A scenario's whole system: one redis-server started for it (killed by PID at the end), or a primary with a replica
/// (<see cref="StartReplicatedAsync"/>), optionally a TCP proxy in front of it, and app instances on 127.0.0.1 that
/// each hold their own connection to Redis (through the proxy when there is one), all recording into one history.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    private readonly RedisMonitor? _monitor;
    private readonly IAsyncDisposable _servers;

    private ChaosCluster(
        RedisServerProcess redis, RedisReplicationPair? replication, IAsyncDisposable servers, RedisMonitor? monitor, TcpProxy? proxy,
        IReadOnlyList<ChaosApp> instances, HistoryRecorder history)
    {
        Redis = redis;
        Replication = replication;
        _servers = servers;
        _monitor = monitor;
        Proxy = proxy;
        Instances = instances;
        History = history;
        Client = new ChaosClient(instances, history);
    }

    /// <summary>The principal of the warm-up requests, which handler hooks may let through at once.</summary>
    public const string WarmUpPrincipal = "warmup";

    /// <summary>The server the apps write to at the start (the primary, when there is a replica).</summary>
    public RedisServerProcess Redis { get; }

    /// <summary>The primary and its replica, for <see cref="StartReplicatedAsync"/>'s clusters; null otherwise.</summary>
    public RedisReplicationPair? Replication { get; }

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
        var apps = await StartAppsAsync(instances, options, $"127.0.0.1:{proxy?.Port ?? redis.Port}", proxy, monitor, history);
        var cluster = new ChaosCluster(redis, replication: null, redis, monitor, proxy, apps, history);
        await cluster.WarmUpAsync();
        return cluster;
    }

    /// <summary>
    /// A primary and a replica replicating through a link the scenario can slow down
    /// (<see cref="RedisReplicationPair.Link"/>), and app instances configured with both endpoints, as an application in
    /// front of a replicated Redis is: StackExchange.Redis sends writes to whichever of them is the primary, and finds
    /// the replica within a second once it is promoted. No MONITOR feed: it would die with the primary, and the harness's clock alone
    /// proves lease ends.
    /// </summary>
    public static async Task<ChaosCluster> StartReplicatedAsync(int instances, ChaosAppOptions options)
    {
        var pair = await RedisReplicationPair.StartAsync(TimeSpan.Zero);
        try
        {
            var history = new HistoryRecorder();
            // Without Sentinel, StackExchange.Redis learns that the replica became a primary from its periodic
            // INFO replication (configCheckSeconds, 60 s by default): once a second, as an application that fails over
            // by hand should set it.
            var endpoints = $"{pair.PrimaryConnectionString},{pair.ReplicaConnectionString},configCheckSeconds=1";
            var apps = await StartAppsAsync(instances, options, endpoints, proxy: null, monitor: null, history);
            var cluster = new ChaosCluster(pair.Primary, pair, pair, monitor: null, proxy: null, apps, history);
            await cluster.WarmUpAsync();
            return cluster;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    private static async Task<List<ChaosApp>> StartAppsAsync(
        int instances, ChaosAppOptions options, string endpoints, TcpProxy? proxy, RedisMonitor? monitor, HistoryRecorder history)
    {
        // The apps fail fast on a broken connection (the store sets FailFast) and reconnect quickly; asyncTimeout is
        // StackExchange.Redis's own bound, kept above StoreTimeout so that the middleware's bound is the one that acts.
        var timeoutMs = (int)(options.StoreTimeout.TotalMilliseconds * 2);
        var configuration = $"{endpoints},connectTimeout=2000,asyncTimeout={timeoutMs},syncTimeout={timeoutMs},connectRetry=1";
        var apps = new List<ChaosApp>();
        var appOptions = new ChaosAppOptions
        {
            Redis = configuration,
            KeyPrefix = options.KeyPrefix,
            IdempotencyEnabled = options.IdempotencyEnabled,
            StoreTimeout = options.StoreTimeout,
            Lease = options.Lease,
            ReplicasToAcknowledge = options.ReplicasToAcknowledge,
            ReplicaAcknowledgeTimeout = options.ReplicaAcknowledgeTimeout,
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

        return apps;
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

        if (_monitor is not null)
        {
            await _monitor.DisposeAsync();
        }

        await _servers.DisposeAsync();
    }
}
