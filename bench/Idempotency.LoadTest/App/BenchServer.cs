using System.Globalization;
using System.Net;
using Idempotency.LoadTest.Runner;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Idempotency.LoadTest.App;

/// <summary>
/// The bench app: <c>serve --hosts mode=port,mode=port,... [--redis host:port] [--database-{mode} connection-string]</c>.
/// One process hosts every mode it is given, each as a web application of its own (its own DI container, store
/// registration and Kestrel on its own loopback port), so a baseline and the candidates compared with it share the
/// process's thread pool, GC and JIT. Every mode maps the same handlers on the same routes; only what sits in front of
/// them differs. The database modes map the handler that also writes the order's row.
/// </summary>
/// <remarks>
/// Routes, each twice: as below for the realistic handler and under <c>/trivial</c> for the trivial one (not in the
/// database modes). <c>POST /orders</c> (policy <c>retained</c>: replays and hot keys), <c>POST /orders/unique</c>
/// (policy <c>unique</c>: one key per request, retained 24 h as users keep them), <c>POST /orders/over-limit</c> (policy
/// <c>over-limit</c>: 16 KiB snapshot limit), <c>GET /orders/{size}</c> (output cached in mode outputcache), and
/// <c>/_bench/*</c> diagnostics that no policy covers. The efcore modes make <c>retained</c> and <c>unique</c>
/// transactional and add <c>POST /orders/unique-plain</c> (policy <c>unique-plain</c>: <c>unique</c> without
/// transactional mode).
/// </remarks>
public static class BenchServer
{
    /// <summary>How long the unique-key policies keep a record: Stripe's default, and the library's.</summary>
    public static readonly TimeSpan UniqueRetention = TimeSpan.FromHours(24);

    /// <summary>The header pass-through's policy reads its key from: one no request carries (see <see cref="ConfigureServices"/>).</summary>
    public const string PassthroughKeyHeader = "Bench-Passthrough-Key";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = CommandLine.Parse(args);
        var hosts = ParseHosts(options.Get("hosts") ?? throw new ArgumentException("serve needs --hosts mode=port,..."));
        var redis = options.Get("redis");
        var parentPid = options.Get("parent-pid") is { } parent ? int.Parse(parent, CultureInfo.InvariantCulture) : (int?)null;
        var maxLifetime = TimeSpan.FromSeconds(double.Parse(options.Get("max-seconds") ?? "900", CultureInfo.InvariantCulture));

        // The scale run (bench/run.sh scale) gives the memory mode a limit it reaches, and tries eviction at that limit.
        var memoryStore = new MemoryStoreLimit(
            options.Get("memory-limit-bytes") is { } limit ? long.Parse(limit, CultureInfo.InvariantCulture) : MemoryStoreLimitBytes,
            options.Get("memory-evict") is { } evict && bool.Parse(evict));
        foreach (var (mode, _) in hosts)
        {
            if (mode is BenchMode.Redis or BenchMode.RedisProtected or BenchMode.RedisLocal or BenchMode.OutputCache && redis is null)
            {
                throw new ArgumentException($"Mode {BenchModes.Name(mode)} needs --redis host:port.");
            }

            if (BenchModes.WritesToDatabase(mode) && options.Get(DatabaseOption(mode)) is null)
            {
                throw new ArgumentException($"Mode {BenchModes.Name(mode)} needs --{DatabaseOption(mode)} connection-string.");
            }
        }

        if (hosts.Any(h => BenchModes.WritesToDatabase(h.Mode) && !BenchModes.UsesPostgres(h.Mode)))
        {
            // SQLite's writers wait for its one write lock on the calling thread, async methods included (SQLite's busy
            // handler, see SqliteBusyTimeout; without it, Microsoft.Data.Sqlite's Thread.Sleep(150) between attempts).
            // With 32 concurrent writers those waits hold pool threads, and the pool's default minimum (one per core)
            // starves: both SQLite rows would measure thread injection, not the work. An application on SQLite with
            // concurrent writers needs the same. The runner gives the SQLite modes a process of their own for this.
            ThreadPool.SetMinThreads(64, 64);
        }

        var apps = new List<WebApplication>();
        try
        {
            foreach (var (mode, port) in hosts)
            {
                apps.Add(await BuildAsync(mode, port, redis, options.Get(DatabaseOption(mode)), memoryStore));
            }

            using var lifetime = new CancellationTokenSource(maxLifetime);
            foreach (var app in apps)
            {
                await app.StartAsync();
            }

            Console.WriteLine($"bench app pid={Environment.ProcessId} serving {string.Join(", ", hosts.Select(h => $"{BenchModes.Name(h.Mode)} on 127.0.0.1:{h.Port}"))}");
            await WatchAsync(apps, parentPid, lifetime.Token);
            foreach (var app in apps)
            {
                await app.StopAsync();
            }

            return 0;
        }
        finally
        {
            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>The option that gives a database mode its connection string.</summary>
    public static string DatabaseOption(BenchMode mode) => "database-" + BenchModes.Name(mode);

    private static List<(BenchMode Mode, int Port)> ParseHosts(string value)
    {
        var hosts = new List<(BenchMode, int)>();
        foreach (var host in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = host.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                throw new ArgumentException($"--hosts takes mode=port pairs; got '{host}'.");
            }

            hosts.Add((BenchModes.Parse(host[..equals]), int.Parse(host[(equals + 1)..], CultureInfo.InvariantCulture)));
        }

        return hosts.Count > 0 ? hosts : throw new ArgumentException("--hosts names no mode.");
    }

    private static async Task<WebApplication> BuildAsync(BenchMode mode, int port, string? redis, string? database, MemoryStoreLimit memoryStore)
    {
        var builder = WebApplication.CreateSlimBuilder([]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole();

        // Information-level logs (the middleware logs each replay) would measure the console, not the middleware.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));

        builder.Services.AddSingleton(new BenchCounters());
        ConfigureServices(builder.Services, mode, redis, memoryStore);
        if (database is not null)
        {
            BenchDatabase.AddTo(builder.Services, mode, database);
        }

        var app = builder.Build();
        if (database is not null)
        {
            Console.WriteLine($"{BenchModes.Name(mode)}: {await BenchDatabase.CreateAsync(app.Services, mode)}");
        }

        app.UseRouting();
        app.UseMiddleware<BenchCountingMiddleware>();
        if (BenchModes.UsesIdempotency(mode))
        {
            app.UseIdempotency();
        }
        else if (mode == BenchMode.OutputCache)
        {
            app.UseOutputCache();
        }

        MapEndpoints(app, mode, BenchHandler.Realistic);
        if (!BenchModes.WritesToDatabase(mode))
        {
            MapEndpoints(app, mode, BenchHandler.Trivial);
        }

        BenchDiagnostics.Map(app);
        return app;
    }

    private static void ConfigureServices(IServiceCollection services, BenchMode mode, string? redis, MemoryStoreLimit memoryStore)
    {
        switch (mode)
        {
            case BenchMode.None or BenchMode.DbSqlite or BenchMode.DbPostgres:
                break;
            case BenchMode.Passthrough:
                // Requests carry the same Idempotency-Key header as the baseline's (wrk builds both alike), and the
                // policy reads its key from a header no request has: the middleware resolves the policy, finds no key,
                // and passes the request through, while the bytes on the wire equal the baseline's.
                var passthrough = services.AddIdempotency(options =>
                {
                    foreach (var name in (string[])["retained", "unique", "over-limit"])
                    {
                        options.AddPolicy(name, policy =>
                        {
                            policy.KeyRequirement = KeyRequirement.Optional;
                            policy.KeyHeaderName = PassthroughKeyHeader;
                        });
                    }
                });
                if (redis is not null)
                {
                    // With the Redis store configured, INFO commandstats proves a pass-through costs no Redis command.
                    passthrough.AddRedisStore(store => store.Configuration = redis);
                }

                break;
            case BenchMode.Memory:
                services.AddIdempotency(AddPolicies).AddInMemoryStore(store =>
                {
                    // Records are kept 24 h and nothing is evicted, so the store grows for the whole run (the report
                    // follows its heap). The limit is a guard for the machine: a run that reaches it answers 503
                    // store-full, which the report shows as non-2xx. All bench requests share one scope, so the
                    // scope's quota is the store's.
                    store.SizeLimitBytes = memoryStore.LimitBytes;
                    store.MaxBytesPerScope = memoryStore.LimitBytes;
                    store.EvictLiveRecordsWhenFull = memoryStore.Evict;
                });
                break;
            case BenchMode.Redis:
                services.AddIdempotency(AddPolicies).AddRedisStore(store => store.Configuration = redis);
                break;
            case BenchMode.RedisProtected:
                // Keys in memory for the process's life: the cost measured is protecting and unprotecting, not a key
                // ring's storage. Its own prefix keeps its replays reading its own (protected) records.
                services.AddDataProtection().UseEphemeralDataProtectionProvider();
                services.AddIdempotency(AddPolicies)
                    .AddRedisStore(store =>
                    {
                        store.Configuration = redis;
                        store.KeyPrefix = "idempotency-bench-protected:";
                    })
                    .ProtectStoredResponses();
                break;
            case BenchMode.RedisLocal:
                // Replays of the retained policy answered from the local replay cache once each key has been replayed
                // once. Entries live longer than the run, so a cached key costs Redis nothing in any round (with the
                // default 10 s expiration each key would cost one round trip per 10 s). Its own prefix keeps its
                // records apart from the redis mode's.
                services.AddIdempotency(options =>
                    {
                        AddPolicies(options, localReplayCache: true);
                        options.LocalReplayCache.Expiration = TimeSpan.FromHours(1);
                    })
                    .AddRedisStore(store =>
                    {
                        store.Configuration = redis;
                        store.KeyPrefix = "idempotency-bench-local:";
                    });
                break;
            case BenchMode.EfCoreSqlite or BenchMode.EfCorePostgres:
                services.AddIdempotency(AddDatabasePolicies).AddEntityFrameworkCoreStore<BenchDbContext>();
                break;
            case BenchMode.OutputCache:
                // The same client settings the idempotency store gives its own connection (socket I/O on the thread pool,
                // see RedisConnectionProvider), so the comparison is between the two designs, not two socket managers.
                services.AddStackExchangeRedisOutputCache(cache =>
                {
                    var configuration = ConfigurationOptions.Parse(redis!);
                    configuration.SocketManager = SocketManager.ThreadPool;
                    cache.ConfigurationOptions = configuration;
                });
                services.AddOutputCache(cache => cache.AddPolicy("orders", policy => policy.Expire(TimeSpan.FromHours(1)).SetVaryByQuery("item")));
                break;
        }
    }

    private static void AddPolicies(IdempotencyOptions options) => AddPolicies(options, localReplayCache: false);

    private static void AddPolicies(IdempotencyOptions options, bool localReplayCache)
    {
        options.AddPolicy("retained", policy =>
        {
            policy.Retention = TimeSpan.FromHours(1);
            policy.UseLocalReplayCache = localReplayCache;
        });

        // One key per request, kept 24 h as users keep them (the library's default and Stripe's): the store fills for
        // the whole run, and what that costs is part of what is measured.
        options.AddPolicy("unique", policy => policy.Retention = UniqueRetention);

        // Responses larger than the snapshot limit: capture must stop copying at the limit and drop what it has, so
        // memory per request stays bounded by MaxSnapshotBytes whatever the body size.
        options.AddPolicy("over-limit", policy =>
        {
            policy.Retention = UniqueRetention;
            policy.MaxSnapshotBytes = OverLimitSnapshotBytes;
        });
    }

    /// <summary>
    /// The relational store's policies: <c>retained</c> and <c>unique</c> as above but transactional (the record commits
    /// in the handler's transaction), and <c>unique-plain</c>, <c>unique</c> without transactional mode (the record's
    /// begin and completion commit on their own, around the handler's write).
    /// </summary>
    private static void AddDatabasePolicies(IdempotencyOptions options)
    {
        options.AddPolicy("retained", policy =>
        {
            policy.Retention = TimeSpan.FromHours(1);
            policy.Transactional = true;
        });
        options.AddPolicy("unique", policy =>
        {
            policy.Retention = UniqueRetention;
            policy.Transactional = true;
        });
        options.AddPolicy("unique-plain", policy => policy.Retention = UniqueRetention);
    }

    /// <summary>The snapshot limit of <c>POST /orders/over-limit</c>.</summary>
    public const int OverLimitSnapshotBytes = 16 * 1024;

    /// <summary>The in-memory store's size limit (and its one scope's quota): above what a default run fills.</summary>
    public const long MemoryStoreLimitBytes = 4L * 1024 * 1024 * 1024;

    private static void MapEndpoints(WebApplication app, BenchMode mode, BenchHandler handler)
    {
        if (BenchModes.WritesToDatabase(mode))
        {
            var created = app.MapPost("/orders", OrderHandlers.CreateAndStoreAsync);
            var createdOnce = app.MapPost("/orders/unique", OrderHandlers.CreateAndStoreAsync);
            if (BenchModes.UsesIdempotency(mode))
            {
                created.RequireIdempotency("retained");
                createdOnce.RequireIdempotency("unique");
                app.MapPost("/orders/unique-plain", OrderHandlers.CreateAndStoreAsync).RequireIdempotency("unique-plain");
            }

            return;
        }

        RequestDelegate create = handler == BenchHandler.Trivial ? OrderHandlers.CreateTrivialAsync : OrderHandlers.CreateAsync;
        RequestDelegate read = handler == BenchHandler.Trivial ? OrderHandlers.GetTrivialAsync : OrderHandlers.GetAsync;
        var retained = app.MapPost(BenchHandlers.Path(handler, "/orders"), create);
        var unique = app.MapPost(BenchHandlers.Path(handler, "/orders/unique"), create);
        var overLimit = app.MapPost(BenchHandlers.Path(handler, "/orders/over-limit"), create);
        var get = app.MapGet(BenchHandlers.Path(handler, "/orders/{size:int}"), read);
        if (BenchModes.UsesIdempotency(mode))
        {
            retained.RequireIdempotency("retained");
            unique.RequireIdempotency("unique");
            overLimit.RequireIdempotency("over-limit");
        }
        else if (mode == BenchMode.OutputCache)
        {
            get.CacheOutput("orders");
        }
    }

    /// <summary>
    /// Stops every host when the runner that started the app is gone, when the lifetime bound is reached, or when one
    /// host stops.
    /// </summary>
    private static async Task WatchAsync(List<WebApplication> apps, int? parentPid, CancellationToken maxLifetime)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(maxLifetime))
            {
                if (apps.Exists(app => app.Lifetime.ApplicationStopping.IsCancellationRequested))
                {
                    return;
                }

                if (parentPid is { } pid && !Directory.Exists($"/proc/{pid}"))
                {
                    Console.Error.WriteLine($"runner {pid} is gone; stopping");
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("maximum lifetime reached; stopping");
        }
    }
}
