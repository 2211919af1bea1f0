using Idempotency.LoadTest.App;

namespace Idempotency.LoadTest.Runner;

/// <summary>How a scenario chooses Idempotency-Key headers.</summary>
public enum KeyKind
{
    /// <summary>No key.</summary>
    None,

    /// <summary>A new key every request.</summary>
    Unique,

    /// <summary>Seeded keys in turn: every request is a replay.</summary>
    Cycle,

    /// <summary>No key; seeded query strings (<c>?item=i</c>) in turn: every request is an output cache hit of a different entry.</summary>
    Query,

    /// <summary>Runs of requests sharing one key, sent concurrently: duplicates while the first is in flight, then replays.</summary>
    Hot,
}

/// <summary>One kind of traffic against one app at one body size.</summary>
/// <param name="Name">The scenario's name in results, e.g. <c>memory_replay</c>.</param>
/// <param name="Mode">The app that serves it.</param>
/// <param name="Size">Request body size in bytes (GET: response note size).</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">Request path.</param>
/// <param name="Keys">How keys are chosen.</param>
/// <param name="Baseline">The scenario at the same size whose requests/s this one is divided by.</param>
public sealed record Scenario(string Name, BenchMode Mode, int Size, string Method, string Path, KeyKind Keys, string Baseline)
{
    public const string Baseline_Post = "baseline";
    public const string Baseline_Get = "baseline_get";
    public const string Baseline_Sqlite = "sqlite_db_baseline";
    public const string Baseline_Postgres = "pg_db_baseline";

    /// <summary>Seeded keys per size for replays (<c>seed-{size}-{i}</c>) and cached entries for output caching (<c>?item={i}</c>).</summary>
    /// <remarks>Enough that replays are spread over many records; few enough to seed in a second or two.</remarks>
    public const int SeededKeys = 256;

    /// <summary>Requests of one thread that share a hot key.</summary>
    public const int HotRun = 64;

    public string Id => $"{Name}@{Size}";

    public bool UsesRedis => Mode is BenchMode.Redis or BenchMode.RedisProtected or BenchMode.OutputCache or BenchMode.Passthrough;

    public bool UsesPostgres => BenchModes.UsesPostgres(Mode);

    public static string SeedPrefix(int size) => $"seed-{size}";

    /// <summary>
    /// The scenarios of a run: every scenario at every size when <paramref name="full"/>, else the headline size gets all
    /// of them and the others the ones with targets that depend on the size. The database rows write one row per order
    /// whatever the body's size, so they run at the headline size only unless <paramref name="full"/>. With
    /// <paramref name="only"/> (name prefixes), just the scenarios named, and the baselines they are divided by.
    /// </summary>
    public static List<Scenario> All(IReadOnlyList<int> sizes, int headlineSize, bool full, IReadOnlyList<string>? only = null)
    {
        var all = Every(sizes, headlineSize, full);
        if (only is null || only.Count == 0)
        {
            return all;
        }

        var chosen = all.Where(s => only.Any(prefix => s.Name.StartsWith(prefix, StringComparison.Ordinal))).ToList();
        var baselines = chosen.Select(s => $"{s.Baseline}@{s.Size}").ToHashSet(StringComparer.Ordinal);
        var result = all.Where(s => chosen.Contains(s) || baselines.Contains(s.Id)).ToList();
        return result.Count > 0 ? result : throw new ArgumentException($"No scenario starts with {string.Join(" or ", only)}.");
    }

    private static List<Scenario> Every(IReadOnlyList<int> sizes, int headlineSize, bool full)
    {
        var result = new List<Scenario>();
        foreach (var size in sizes)
        {
            var everything = full || size == headlineSize;
            var get = $"/orders/{size}";
            result.Add(new(Baseline_Post, BenchMode.None, size, "POST", "/orders", KeyKind.Unique, Baseline_Post));
            if (everything)
            {
                result.Add(new(Baseline_Get, BenchMode.None, size, "GET", get, KeyKind.Query, Baseline_Get));
            }

            result.Add(new("passthrough", BenchMode.Passthrough, size, "POST", "/orders", KeyKind.None, Baseline_Post));
            result.Add(new("memory_first", BenchMode.Memory, size, "POST", "/orders/unique", KeyKind.Unique, Baseline_Post));
            result.Add(new("memory_replay", BenchMode.Memory, size, "POST", "/orders", KeyKind.Cycle, Baseline_Post));
            if (size > App.BenchServer.OverLimitSnapshotBytes)
            {
                result.Add(new("memory_first_over_limit", BenchMode.Memory, size, "POST", "/orders/over-limit", KeyKind.Unique, Baseline_Post));
            }
            if (everything)
            {
                result.Add(new("memory_hotkey", BenchMode.Memory, size, "POST", "/orders", KeyKind.Hot, Baseline_Post));
            }

            result.Add(new("redis_first", BenchMode.Redis, size, "POST", "/orders/unique", KeyKind.Unique, Baseline_Post));
            result.Add(new("redis_replay", BenchMode.Redis, size, "POST", "/orders", KeyKind.Cycle, Baseline_Post));

            // Stored responses protected at rest (ProtectStoredResponses()): the cost of protecting and unprotecting, to
            // compare with redis_first and redis_replay of the same round.
            result.Add(new("redis_protected_first", BenchMode.RedisProtected, size, "POST", "/orders/unique", KeyKind.Unique, Baseline_Post));
            result.Add(new("redis_protected_replay", BenchMode.RedisProtected, size, "POST", "/orders", KeyKind.Cycle, Baseline_Post));
            if (everything)
            {
                result.Add(new("redis_hotkey", BenchMode.Redis, size, "POST", "/orders", KeyKind.Hot, Baseline_Post));
                result.Add(new("outputcache_redis_hit", BenchMode.OutputCache, size, "GET", get, KeyKind.Query, Baseline_Get));
            }

            if (everything)
            {
                // The handler that writes each order to the database, without idempotency (the denominator) and behind
                // the Entity Framework Core store: transactional first executions, non-transactional ones, replays.
                foreach (var (prefix, baseline, store, baselineName) in (ReadOnlySpan<(string, BenchMode, BenchMode, string)>)
                         [("sqlite", BenchMode.DbSqlite, BenchMode.EfCoreSqlite, Baseline_Sqlite), ("pg", BenchMode.DbPostgres, BenchMode.EfCorePostgres, Baseline_Postgres)])
                {
                    result.Add(new(baselineName, baseline, size, "POST", "/orders", KeyKind.Unique, baselineName));
                    result.Add(new($"{prefix}_tx_first", store, size, "POST", "/orders/unique", KeyKind.Unique, baselineName));
                    result.Add(new($"{prefix}_first", store, size, "POST", "/orders/unique-plain", KeyKind.Unique, baselineName));
                    result.Add(new($"{prefix}_tx_replay", store, size, "POST", "/orders", KeyKind.Cycle, baselineName));
                }
            }
        }

        return result;
    }
}
