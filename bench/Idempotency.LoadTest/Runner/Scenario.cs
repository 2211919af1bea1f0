using Idempotency.LoadTest.App;

namespace Idempotency.LoadTest.Runner;

/// <summary>How a scenario chooses Idempotency-Key headers.</summary>
public enum KeyKind
{
    /// <summary>No key (no scenario sends none today: pass-through sends the baseline's key, which its policy does not read).</summary>
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

/// <summary>One kind of traffic against one app at one body size, behind one handler.</summary>
/// <param name="Name">The scenario's name in results, e.g. <c>memory_replay</c>; the same for both handlers.</param>
/// <param name="Mode">The app that serves it.</param>
/// <param name="Size">Request body size in bytes (GET: response note size).</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">Request path (under <c>/trivial</c> for the trivial handler).</param>
/// <param name="Keys">How keys are chosen.</param>
/// <param name="Baseline">The scenario at the same size, behind the same handler, whose requests/s this one is divided by.</param>
/// <param name="Handler">The handler behind the middleware.</param>
public sealed record Scenario(string Name, BenchMode Mode, int Size, string Method, string Path, KeyKind Keys, string Baseline, BenchHandler Handler)
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

    public string Id => ScenarioId(Name, Size, Handler);

    public string BaselineId => ScenarioId(Baseline, Size, Handler);

    public bool UsesRedis => Mode is BenchMode.Redis or BenchMode.RedisProtected or BenchMode.RedisLocal or BenchMode.OutputCache or BenchMode.Passthrough;

    public bool UsesPostgres => BenchModes.UsesPostgres(Mode);

    public static string ScenarioId(string name, int size, BenchHandler handler)
        => handler == BenchHandler.Trivial ? $"{name}@{size}/trivial" : $"{name}@{size}";

    /// <summary>The seeded replay keys of one size and handler (each handler's route has records of its own).</summary>
    public static string SeedPrefix(int size, BenchHandler handler)
        => handler == BenchHandler.Trivial ? $"seed-trivial-{size}" : $"seed-{size}";

    /// <summary>
    /// The scenarios of a run. By default: every scenario at the headline size behind both handlers (the database rows
    /// behind their own handler), plus <c>memory_first_over_limit</c> and its baseline at the largest size, whose
    /// target depends on the size. With <paramref name="full"/>, every scenario at every size. With
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
        var baselines = chosen.Select(s => s.BaselineId).ToHashSet(StringComparer.Ordinal);
        var result = all.Where(s => chosen.Contains(s) || baselines.Contains(s.Id)).ToList();
        return result.Count > 0 ? result : throw new ArgumentException($"No scenario starts with {string.Join(" or ", only)}.");
    }

    private static List<Scenario> Every(IReadOnlyList<int> sizes, int headlineSize, bool full)
    {
        var result = new List<Scenario>();
        foreach (var size in sizes)
        {
            var everything = full || size == headlineSize;
            foreach (var handler in (ReadOnlySpan<BenchHandler>)[BenchHandler.Realistic, BenchHandler.Trivial])
            {
                if (everything)
                {
                    AddHttp(result, size, handler, full);
                }
                else if (handler == BenchHandler.Realistic && size > App.BenchServer.OverLimitSnapshotBytes && size == sizes.Max())
                {
                    result.Add(new(Baseline_Post, BenchMode.None, size, "POST", "/orders", KeyKind.Unique, Baseline_Post, handler));
                    result.Add(new("memory_first_over_limit", BenchMode.Memory, size, "POST", "/orders/over-limit", KeyKind.Unique, Baseline_Post, handler));
                }
            }

            if (everything)
            {
                // The handler that writes each order to the database, without idempotency (the denominator) and behind
                // the Entity Framework Core store: transactional first executions, non-transactional ones, replays.
                foreach (var (prefix, baseline, store, baselineName) in (ReadOnlySpan<(string, BenchMode, BenchMode, string)>)
                         [("sqlite", BenchMode.DbSqlite, BenchMode.EfCoreSqlite, Baseline_Sqlite), ("pg", BenchMode.DbPostgres, BenchMode.EfCorePostgres, Baseline_Postgres)])
                {
                    result.Add(new(baselineName, baseline, size, "POST", "/orders", KeyKind.Unique, baselineName, BenchHandler.Realistic));
                    result.Add(new($"{prefix}_tx_first", store, size, "POST", "/orders/unique", KeyKind.Unique, baselineName, BenchHandler.Realistic));
                    result.Add(new($"{prefix}_first", store, size, "POST", "/orders/unique-plain", KeyKind.Unique, baselineName, BenchHandler.Realistic));
                    result.Add(new($"{prefix}_tx_replay", store, size, "POST", "/orders", KeyKind.Cycle, baselineName, BenchHandler.Realistic));
                }
            }
        }

        return result;
    }

    /// <summary>The scenarios served by the http group's app at one size behind one handler.</summary>
    private static void AddHttp(List<Scenario> result, int size, BenchHandler handler, bool full)
    {
        string P(string path) => BenchHandlers.Path(handler, path);
        var get = P($"/orders/{size}");

        // Every POST sends the same request bytes, Idempotency-Key included: the baseline ignores the key, pass-through's
        // policy reads its key from another header (see BenchServer), so the two differ only in the middleware.
        result.Add(new(Baseline_Post, BenchMode.None, size, "POST", P("/orders"), KeyKind.Unique, Baseline_Post, handler));
        result.Add(new(Baseline_Get, BenchMode.None, size, "GET", get, KeyKind.Query, Baseline_Get, handler));
        result.Add(new("passthrough", BenchMode.Passthrough, size, "POST", P("/orders"), KeyKind.Unique, Baseline_Post, handler));
        result.Add(new("memory_first", BenchMode.Memory, size, "POST", P("/orders/unique"), KeyKind.Unique, Baseline_Post, handler));
        result.Add(new("memory_replay", BenchMode.Memory, size, "POST", P("/orders"), KeyKind.Cycle, Baseline_Post, handler));

        // The trivial handler's response never reaches the snapshot limit.
        if (size > App.BenchServer.OverLimitSnapshotBytes && handler == BenchHandler.Realistic)
        {
            result.Add(new("memory_first_over_limit", BenchMode.Memory, size, "POST", P("/orders/over-limit"), KeyKind.Unique, Baseline_Post, handler));
        }

        result.Add(new("memory_hotkey", BenchMode.Memory, size, "POST", P("/orders"), KeyKind.Hot, Baseline_Post, handler));
        result.Add(new("redis_first", BenchMode.Redis, size, "POST", P("/orders/unique"), KeyKind.Unique, Baseline_Post, handler));
        result.Add(new("redis_replay", BenchMode.Redis, size, "POST", P("/orders"), KeyKind.Cycle, Baseline_Post, handler));

        // The same replays with the local replay cache in front of Redis: every seeded key was replayed once in the
        // warm-up, so each request is answered from the process's memory without a Redis round trip.
        result.Add(new("redis_replay_local", BenchMode.RedisLocal, size, "POST", P("/orders"), KeyKind.Cycle, Baseline_Post, handler));

        // Stored responses protected at rest (ProtectStoredResponses()): the cost of protecting and unprotecting, to
        // compare with redis_first and redis_replay of the same round. Behind the trivial handler only in a full run.
        if (handler == BenchHandler.Realistic || full)
        {
            result.Add(new("redis_protected_first", BenchMode.RedisProtected, size, "POST", P("/orders/unique"), KeyKind.Unique, Baseline_Post, handler));
            result.Add(new("redis_protected_replay", BenchMode.RedisProtected, size, "POST", P("/orders"), KeyKind.Cycle, Baseline_Post, handler));
        }

        result.Add(new("redis_hotkey", BenchMode.Redis, size, "POST", P("/orders"), KeyKind.Hot, Baseline_Post, handler));
        result.Add(new("outputcache_redis_hit", BenchMode.OutputCache, size, "GET", get, KeyKind.Query, Baseline_Get, handler));
    }
}
