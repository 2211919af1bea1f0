namespace Idempotency.LoadTest.App;

/// <summary>What sits in front of the order handler in one bench app process.</summary>
public enum BenchMode
{
    /// <summary>Nothing: the baseline.</summary>
    None,

    /// <summary>Idempotency on with an optional-key policy, requests without a key (store: Redis when given, else memory).</summary>
    Passthrough,

    /// <summary>Idempotency with the in-memory store.</summary>
    Memory,

    /// <summary>Idempotency with the Redis store.</summary>
    Redis,

    /// <summary>Idempotency with the Redis store and stored responses protected (<c>ProtectStoredResponses()</c>, an ephemeral key ring), under a key prefix of its own.</summary>
    RedisProtected,

    /// <summary>Idempotency with the Redis store and the local replay cache on the replay policy (<c>UseLocalReplayCache</c>), under a key prefix of its own.</summary>
    RedisLocal,

    /// <summary>ASP.NET Core Output Caching with its Redis store on GET: the peer the Redis replay path is compared with.</summary>
    OutputCache,

    /// <summary>Nothing in front of the handler that writes each order to SQLite: the baseline of the SQLite rows.</summary>
    DbSqlite,

    /// <summary>The SQLite-writing handler behind the Entity Framework Core store in the same kind of SQLite database.</summary>
    EfCoreSqlite,

    /// <summary>Nothing in front of the handler that writes each order to PostgreSQL: the baseline of the PostgreSQL rows.</summary>
    DbPostgres,

    /// <summary>The PostgreSQL-writing handler behind the Entity Framework Core store on the same PostgreSQL server.</summary>
    EfCorePostgres,
}

/// <summary>Names of modes on the command line and in results.</summary>
public static class BenchModes
{
    public static string Name(BenchMode mode) => mode switch
    {
        BenchMode.None => "none",
        BenchMode.Passthrough => "passthrough",
        BenchMode.Memory => "memory",
        BenchMode.Redis => "redis",
        BenchMode.RedisProtected => "redis-protected",
        BenchMode.RedisLocal => "redis-local",
        BenchMode.OutputCache => "outputcache",
        BenchMode.DbSqlite => "db-sqlite",
        BenchMode.EfCoreSqlite => "efcore-sqlite",
        BenchMode.DbPostgres => "db-postgres",
        BenchMode.EfCorePostgres => "efcore-postgres",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    public static BenchMode Parse(string name) => name.ToLowerInvariant() switch
    {
        "none" => BenchMode.None,
        "passthrough" => BenchMode.Passthrough,
        "memory" => BenchMode.Memory,
        "redis" => BenchMode.Redis,
        "redis-protected" => BenchMode.RedisProtected,
        "redis-local" => BenchMode.RedisLocal,
        "outputcache" => BenchMode.OutputCache,
        "db-sqlite" => BenchMode.DbSqlite,
        "efcore-sqlite" => BenchMode.EfCoreSqlite,
        "db-postgres" => BenchMode.DbPostgres,
        "efcore-postgres" => BenchMode.EfCorePostgres,
        _ => throw new ArgumentException($"Unknown mode '{name}'; use none, passthrough, memory, redis, redis-protected, redis-local, outputcache, db-sqlite, efcore-sqlite, db-postgres or efcore-postgres."),
    };

    /// <summary>Whether the app's handler writes each order to a database (given with <c>--database</c>).</summary>
    public static bool WritesToDatabase(BenchMode mode) => mode is BenchMode.DbSqlite or BenchMode.EfCoreSqlite or BenchMode.DbPostgres or BenchMode.EfCorePostgres;

    /// <summary>Whether the app's database is PostgreSQL (else SQLite), for modes that write to one.</summary>
    public static bool UsesPostgres(BenchMode mode) => mode is BenchMode.DbPostgres or BenchMode.EfCorePostgres;

    /// <summary>Whether the app runs the idempotency middleware.</summary>
    public static bool UsesIdempotency(BenchMode mode) => mode is BenchMode.Passthrough or BenchMode.Memory or BenchMode.Redis or BenchMode.RedisProtected or BenchMode.RedisLocal or BenchMode.EfCoreSqlite or BenchMode.EfCorePostgres;

    /// <summary>
    /// The app process that serves a mode: a baseline and the candidates divided by it share one. The SQLite modes get
    /// a process of their own because they raise the thread pool's minimum (see BenchServer); the PostgreSQL modes one
    /// of theirs, so that neither shares a heap with the in-memory store's records.
    /// </summary>
    public static string Group(BenchMode mode) => mode switch
    {
        BenchMode.DbSqlite or BenchMode.EfCoreSqlite => "sqlite",
        BenchMode.DbPostgres or BenchMode.EfCorePostgres => "postgres",
        _ => "http",
    };
}
