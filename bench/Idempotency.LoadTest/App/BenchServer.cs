using System.Globalization;
using System.Net;
using Idempotency.LoadTest.Runner;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Idempotency.LoadTest.App;

/// <summary>
/// The bench app: <c>serve --mode none|passthrough|memory|redis|outputcache|db-sqlite|efcore-sqlite|db-postgres|efcore-postgres
/// --port N [--redis host:port] [--database connection-string]</c>. Every mode maps the same handler on the same
/// routes; only what sits in front of it differs. The database modes map the handler that also writes the order's row.
/// </summary>
/// <remarks>
/// Routes: <c>POST /orders</c> (policy <c>retained</c>: replays and hot keys), <c>POST /orders/unique</c> (policy
/// <c>unique</c>: one key per request, retention 2 s so that a long run does not fill the store),
/// <c>POST /orders/over-limit</c> (policy <c>over-limit</c>: 16 KiB snapshot limit), <c>GET /orders/{size}</c>
/// (output cached in mode outputcache), and <c>/_bench/*</c> diagnostics that no policy covers. The efcore modes make
/// <c>retained</c> and <c>unique</c> transactional and add <c>POST /orders/unique-plain</c> (policy <c>unique-plain</c>:
/// <c>unique</c> without transactional mode).
/// </remarks>
public static class BenchServer
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = CommandLine.Parse(args);
        var mode = BenchModes.Parse(options.Get("mode") ?? throw new ArgumentException("serve needs --mode."));
        var port = int.Parse(options.Get("port") ?? throw new ArgumentException("serve needs --port."), CultureInfo.InvariantCulture);
        var redis = options.Get("redis");
        var database = options.Get("database");
        var parentPid = options.Get("parent-pid") is { } parent ? int.Parse(parent, CultureInfo.InvariantCulture) : (int?)null;
        var maxLifetime = TimeSpan.FromSeconds(double.Parse(options.Get("max-seconds") ?? "900", CultureInfo.InvariantCulture));
        if (mode is BenchMode.Redis or BenchMode.OutputCache && redis is null)
        {
            throw new ArgumentException($"Mode {BenchModes.Name(mode)} needs --redis host:port.");
        }

        if (BenchModes.WritesToDatabase(mode) && database is null)
        {
            throw new ArgumentException($"Mode {BenchModes.Name(mode)} needs --database connection-string.");
        }

        if (BenchModes.WritesToDatabase(mode) && !BenchModes.UsesPostgres(mode))
        {
            // SQLite's writers wait for its one write lock on the calling thread, async methods included (SQLite's busy
            // handler, see SqliteBusyTimeout; without it, Microsoft.Data.Sqlite's Thread.Sleep(150) between attempts).
            // With 32 concurrent writers those waits hold pool threads, and the pool's default minimum (one per core)
            // starves: both SQLite rows would measure thread injection, not the work. An application on SQLite with
            // concurrent writers needs the same.
            ThreadPool.SetMinThreads(64, 64);
        }

        var builder = WebApplication.CreateSlimBuilder([]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole();

        // Information-level logs (the middleware logs each replay) would measure the console, not the middleware.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Services.AddSingleton(new BenchCounters());
        ConfigureServices(builder.Services, mode, redis);
        if (database is not null)
        {
            BenchDatabase.AddTo(builder.Services, mode, database);
        }

        await using var app = builder.Build();
        if (database is not null)
        {
            Console.WriteLine(await BenchDatabase.CreateAsync(app.Services, mode));
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

        MapEndpoints(app, mode);
        BenchDiagnostics.Map(app);

        using var lifetime = new CancellationTokenSource(maxLifetime);
        var watchdog = WatchAsync(app.Lifetime, parentPid, lifetime.Token);
        await app.StartAsync();
        Console.WriteLine($"bench app mode={BenchModes.Name(mode)} listening on 127.0.0.1:{port} pid={Environment.ProcessId}");
        await app.WaitForShutdownAsync();
        await watchdog;
        return 0;
    }

    private static void ConfigureServices(IServiceCollection services, BenchMode mode, string? redis)
    {
        switch (mode)
        {
            case BenchMode.None or BenchMode.DbSqlite or BenchMode.DbPostgres:
                break;
            case BenchMode.Passthrough:
                var passthrough = services.AddIdempotency(options =>
                {
                    options.AddPolicy("retained", policy => policy.KeyRequirement = KeyRequirement.Optional);
                    options.AddPolicy("unique", policy => policy.KeyRequirement = KeyRequirement.Optional);
                    options.AddPolicy("over-limit", policy => policy.KeyRequirement = KeyRequirement.Optional);
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
                    // Big enough that the seeded replay keys are never evicted by the unique keys of a long run.
                    store.SizeLimitBytes = 2L * 1024 * 1024 * 1024;
                    store.ExpirationScanInterval = TimeSpan.FromSeconds(1);
                });
                break;
            case BenchMode.Redis:
                services.AddIdempotency(AddPolicies).AddRedisStore(store => store.Configuration = redis);
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

    private static void AddPolicies(IdempotencyOptions options)
    {
        options.AddPolicy("retained", policy => policy.Retention = TimeSpan.FromHours(1));

        // One key per request: a short lease and retention keep the store at a few seconds of traffic however long the
        // run. The per-request work is unchanged (begin, capture, complete); expired records leave through the sweep.
        options.AddPolicy("unique", policy =>
        {
            policy.Lease = TimeSpan.FromSeconds(2);
            policy.Retention = TimeSpan.FromSeconds(2);
        });

        // Responses larger than the snapshot limit: capture must stop copying at the limit and drop what it has, so
        // memory per request stays bounded by MaxSnapshotBytes whatever the body size.
        options.AddPolicy("over-limit", policy =>
        {
            policy.Lease = TimeSpan.FromSeconds(2);
            policy.Retention = TimeSpan.FromSeconds(2);
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
            policy.Lease = TimeSpan.FromSeconds(2);
            policy.Retention = TimeSpan.FromSeconds(2);
            policy.Transactional = true;
        });
        options.AddPolicy("unique-plain", policy =>
        {
            policy.Lease = TimeSpan.FromSeconds(2);
            policy.Retention = TimeSpan.FromSeconds(2);
        });
    }

    /// <summary>The snapshot limit of <c>POST /orders/over-limit</c>.</summary>
    public const int OverLimitSnapshotBytes = 16 * 1024;

    private static void MapEndpoints(WebApplication app, BenchMode mode)
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

        var retained = app.MapPost("/orders", OrderHandlers.CreateAsync);
        var unique = app.MapPost("/orders/unique", OrderHandlers.CreateAsync);
        var overLimit = app.MapPost("/orders/over-limit", OrderHandlers.CreateAsync);
        var get = app.MapGet("/orders/{size:int}", OrderHandlers.GetAsync);
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

    /// <summary>Stops the app when the runner that started it is gone or the lifetime bound is reached.</summary>
    private static async Task WatchAsync(IHostApplicationLifetime lifetime, int? parentPid, CancellationToken maxLifetime)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(maxLifetime))
            {
                if (lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    return;
                }

                if (parentPid is { } pid && !Directory.Exists($"/proc/{pid}"))
                {
                    Console.Error.WriteLine($"runner {pid} is gone; stopping");
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("maximum lifetime reached; stopping");
        }

        lifetime.StopApplication();
    }
}
