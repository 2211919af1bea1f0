using Idempotency.LoadTest.App;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Idempotency.LoadTest.Runner;

/// <summary>Medians, ratios and targets of one run, as <c>latest.json</c> and <c>latest.md</c>.</summary>
public sealed class Report
{
    private static readonly string[] HeadlineScenarios = ["passthrough", "memory_first", "memory_replay", "redis_first", "redis_replay", "outputcache_redis_hit"];

    /// <summary>The Entity Framework Core store's rows, each divided by the database-writing handler on the same kind of database.</summary>
    private static readonly string[] DatabaseScenarios = ["sqlite_tx_first", "sqlite_first", "sqlite_tx_replay", "pg_tx_first", "pg_first", "pg_tx_replay"];

    private readonly RunSettings _settings;
    private readonly string _machine;
    private readonly string _command;
    private readonly double? _cpuBusyBeforeStart;
    private readonly double? _loadAverage;
    private readonly double? _loadAverageAtEnd;
    private readonly IReadOnlyList<LatencyResult> _latencies;
    private readonly IReadOnlyList<StoreGrowthSample> _growth;
    private readonly IReadOnlyList<Measurement> _measurements;
    private readonly TimeSpan _wallTime;
    private readonly List<ScenarioSummary> _summaries;

    public Report(
        RunSettings settings, string machine, string command, double? cpuBusyBeforeStart, double? loadAverage, double? loadAverageAtEnd,
        IReadOnlyList<Measurement> measurements, IReadOnlyList<LatencyResult> latencies, IReadOnlyList<StoreGrowthSample> growth, TimeSpan wallTime)
    {
        _settings = settings;
        _machine = machine;
        _command = command;
        _cpuBusyBeforeStart = cpuBusyBeforeStart;
        _loadAverage = loadAverage;
        _loadAverageAtEnd = loadAverageAtEnd;
        _latencies = latencies;
        _growth = growth;
        _measurements = measurements;
        _wallTime = wallTime;
        _summaries = Summarize(measurements);
    }

    private sealed record ScenarioSummary(
        Scenario Scenario,
        double[] RequestsPerSecond,
        double MedianRequestsPerSecond,
        Interval RequestsPerSecondInterval,
        double[]? RatioRounds,
        Interval? RatioInterval,
        double? Ratio,
        double MedianAllocatedBytesPerRequest,
        double? AllocatedBytesAboveBaseline,
        double ExecutionsPerRequest,
        double? RoundTripsPerRequest,
        Dictionary<string, double>? CommandsPerRequest,
        double? StatementsPerRequest,
        Dictionary<string, double>? StatementCallsPerRequest,
        long PeakWorkingSetBytes,
        double Non2xxFraction,
        long SocketErrors,
        long WrkP50Microseconds,
        long WrkP99Microseconds,
        int Gen2Collections,
        double? AppCpuMicroseconds,
        double? ServerCpuMicroseconds,
        double? MachineCpuMicroseconds,
        Interval? AppCpuInterval,
        Interval? ServerCpuInterval,
        Interval? MachineCpuInterval,
        Interval AllocatedBytesInterval);

    private static List<ScenarioSummary> Summarize(IReadOnlyList<Measurement> measurements)
    {
        var byId = measurements.GroupBy(m => m.Scenario.Id).ToDictionary(g => g.Key, g => g.OrderBy(m => m.Round).ToList());
        var result = new List<ScenarioSummary>();
        foreach (var (_, runs) in byId)
        {
            var scenario = runs[0].Scenario;
            byId.TryGetValue(scenario.BaselineId, out var baselineRuns);

            // Ratios are taken round by round (the scenario and its baseline ran minutes apart at most, seconds apart
            // usually) and then the median is taken: drift in the machine's load cancels within a round.
            double? ratio = null;
            double? allocationAbove = null;
            double[]? ratioRounds = null;
            Interval? ratioInterval = null;
            if (baselineRuns is not null)
            {
                var perRound = runs.Join(baselineRuns, m => m.Round, b => b.Round, (m, b) => m.Wrk.RequestsPerSecond / b.Wrk.RequestsPerSecond).ToArray();
                ratio = perRound.Length == 0 ? null : Median(perRound);
                ratioRounds = perRound.Select(r => Math.Round(r, 3)).ToArray();
                ratioInterval = perRound.Length == 0 ? null : Statistics.Of(perRound);
                allocationAbove = Median(runs.Select(m => m.AllocatedBytesPerRequest)) - Median(baselineRuns.Select(m => m.AllocatedBytesPerRequest));
            }

            Dictionary<string, double>? commands = null;
            double? roundTrips = null;
            if (runs.All(m => m.RedisCommands is not null))
            {
                var requests = runs.Sum(m => m.AppRequests);
                commands = runs.SelectMany(m => m.RedisCommands!)
                    .GroupBy(c => c.Key)
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => Math.Round((double)g.Sum(c => c.Value) / requests, 3));
                roundTrips = Math.Round(commands.Where(c => !RedisServer.ScriptInternal.Contains(c.Key)).Sum(c => c.Value), 3);
            }

            Dictionary<string, double>? statements = null;
            double? statementsPerRequest = null;
            if (runs.All(m => m.SqlStatements is not null))
            {
                var requests = runs.Sum(m => m.AppRequests);
                statements = runs.SelectMany(m => m.SqlStatements!)
                    .GroupBy(c => c.Key)
                    .Select(g => (Statement: g.Key, PerRequest: Math.Round((double)g.Sum(c => c.Value) / requests, 3)))
                    .Where(c => c.PerRequest >= 0.001)
                    .OrderByDescending(c => c.PerRequest)
                    .ToDictionary(c => c.Statement, c => c.PerRequest, StringComparer.Ordinal);
                statementsPerRequest = Math.Round((double)runs.Sum(m => m.SqlStatements!.Values.Sum()) / requests, 3);
            }

            var totalRequests = runs.Sum(m => m.Wrk.Requests);
            var serverCpu = scenario.UsesRedis || scenario.UsesPostgres;
            result.Add(new ScenarioSummary(
                scenario,
                runs.Select(m => Math.Round(m.Wrk.RequestsPerSecond, 0)).ToArray(),
                Median(runs.Select(m => m.Wrk.RequestsPerSecond)),
                Statistics.Of(runs.Select(m => m.Wrk.RequestsPerSecond).ToArray()),
                ratioRounds,
                ratioInterval,
                ratio,
                Median(runs.Select(m => m.AllocatedBytesPerRequest)),
                allocationAbove,
                Median(runs.Select(m => m.ExecutionsPerRequest)),
                roundTrips,
                commands,
                statementsPerRequest,
                statements,
                runs.Max(m => m.PeakWorkingSetBytes),
                totalRequests == 0 ? 0 : (double)runs.Sum(m => m.Wrk.StatusErrors) / totalRequests,
                runs.Sum(m => m.Wrk.SocketErrors),
                (long)Median(runs.Select(m => (double)m.Wrk.LatencyP50)),
                (long)Median(runs.Select(m => (double)m.Wrk.LatencyP99)),
                runs.Sum(m => m.Gen2Collections),
                MedianOrNull(runs.Select(m => m.CpuMicrosecondsPerRequest.App)),
                serverCpu ? MedianOrNull(runs.Select(m => m.CpuMicrosecondsPerRequest.Server)) : null,
                MedianOrNull(runs.Select(m => m.CpuMicrosecondsPerRequest.Machine)),
                Statistics.OfKnown(runs.Select(m => m.CpuMicrosecondsPerRequest.App)),
                serverCpu ? Statistics.OfKnown(runs.Select(m => m.CpuMicrosecondsPerRequest.Server)) : null,
                Statistics.OfKnown(runs.Select(m => m.CpuMicrosecondsPerRequest.Machine)),
                Statistics.Of(runs.Select(m => m.AllocatedBytesPerRequest).ToArray())));
        }

        return result;
    }

    private ScenarioSummary? Find(string name, int size, BenchHandler handler = BenchHandler.Realistic)
        => _summaries.FirstOrDefault(s => s.Scenario.Name == name && s.Scenario.Size == size && s.Scenario.Handler == handler);

    private sealed record Target(string Name, BenchHandler Handler, string Goal, double? Value, bool? Met);

    /// <summary>
    /// The targets. The middleware's own cost is judged behind the trivial handler, where a replay cannot win by skipping
    /// expensive work; behind the realistic handler only the targets that can fail there are judged (a replay that skips
    /// it is always faster and allocates less than its baseline), and its ratios are reported as before.
    /// </summary>
    private List<Target> Targets()
    {
        var size = _settings.HeadlineSize;
        var targets = new List<Target>();
        void AtLeast(string scenario, double goal, BenchHandler handler = BenchHandler.Realistic)
        {
            var ratio = Find(scenario, size, handler)?.Ratio;
            targets.Add(new($"{scenario} ratio", handler, $">= {goal:0.00}", Round(ratio, 3), ratio is null ? null : ratio >= goal));
        }

        void AboveOutputCache(BenchHandler handler)
        {
            var redisReplay = Find("redis_replay", size, handler)?.Ratio;
            var outputCache = Find("outputcache_redis_hit", size, handler)?.Ratio;
            targets.Add(new("redis_replay ratio vs outputcache_redis_hit ratio", handler, $">= {Round(outputCache, 3)?.ToString(CultureInfo.InvariantCulture) ?? "?"}",
                Round(redisReplay, 3), redisReplay is null || outputCache is null ? null : redisReplay >= outputCache));
        }

        AtLeast("passthrough", 0.97, BenchHandler.Trivial);
        AtLeast("memory_first", 0.80, BenchHandler.Trivial);
        AtLeast("memory_replay", 0.95, BenchHandler.Trivial);
        AtLeast("redis_first", 0.40, BenchHandler.Trivial);
        AtLeast("redis_replay", 0.70, BenchHandler.Trivial);
        AboveOutputCache(BenchHandler.Trivial);
        AtLeast("redis_replay_local", 0.95, BenchHandler.Trivial);
        var memoryReplay = Find("memory_replay", size, BenchHandler.Trivial)?.Ratio;
        var localReplay = Find("redis_replay_local", size, BenchHandler.Trivial)?.Ratio;
        targets.Add(new("redis_replay_local ratio vs memory_replay ratio", BenchHandler.Trivial, $">= {Round(memoryReplay, 3)?.ToString(CultureInfo.InvariantCulture) ?? "?"}",
            Round(localReplay, 3), localReplay is null || memoryReplay is null ? null : localReplay >= memoryReplay));

        AtLeast("passthrough", 0.97);
        AtLeast("memory_first", 0.85);
        AtLeast("redis_first", 0.55);
        AtLeast("redis_replay", 0.75);
        AboveOutputCache(BenchHandler.Realistic);

        void Commands(string scenario, double goal)
        {
            var trips = Find(scenario, size)?.RoundTripsPerRequest;

            // A few hundredths either way are requests wrk abandoned at the end of its run and housekeeping that slipped in.
            targets.Add(new($"Redis round trips per request, {scenario}", BenchHandler.Realistic, $"= {goal}", Round(trips, 3), trips is null ? null : Math.Abs(trips.Value - goal) <= 0.02));
        }

        Commands("redis_first", 2);
        Commands("redis_replay", 1);
        Commands("redis_protected_first", 2);
        Commands("redis_protected_replay", 1);
        Commands("passthrough", 0);
        Commands("redis_replay_local", 0);

        foreach (var replay in (string[])["memory_replay", "redis_replay"])
        {
            var above = Find(replay, size, BenchHandler.Trivial)?.AllocatedBytesAboveBaseline;
            targets.Add(new($"allocated bytes per request above baseline, {replay}", BenchHandler.Trivial, "<= 2048", Round(above, 0), above is null ? null : above <= 2048));
        }

        // The relational store, on the database a production service would use: the record's writes share the handler's
        // transaction and commit, so a first execution costs statements, not a second commit; a replay skips the write.
        if (Find("pg_tx_first", size) is not null || Find("pg_tx_replay", size) is not null)
        {
            AtLeast("pg_tx_first", 0.80);
            AtLeast("pg_tx_replay", 1.0);
        }

        var overLimit = _summaries.Where(s => s.Scenario.Name == "memory_first_over_limit").MaxBy(s => s.Scenario.Size);
        if (overLimit is not null)
        {
            targets.Add(new(
                $"allocated bytes per request above baseline, memory_first_over_limit@{overLimit.Scenario.Size} (MaxSnapshotBytes {App.BenchServer.OverLimitSnapshotBytes})",
                BenchHandler.Realistic,
                $"<= {App.BenchServer.OverLimitSnapshotBytes}",
                Round(overLimit.AllocatedBytesAboveBaseline, 0),
                overLimit.AllocatedBytesAboveBaseline is null ? null : overLimit.AllocatedBytesAboveBaseline <= App.BenchServer.OverLimitSnapshotBytes));
        }

        return targets;
    }

    public string ToJson()
    {
        var size = _settings.HeadlineSize;
        var root = new JsonObject
        {
            ["label"] = _settings.Label,
            ["machine"] = _machine,
            ["command"] = _command,
            ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
            ["cpu_busy_before_start"] = _cpuBusyBeforeStart is { } busy ? Math.Round(busy, 3) : null,
            ["load_average_at_start"] = _loadAverage,
            ["load_average_at_end"] = _loadAverageAtEnd,
            ["cores"] = Environment.ProcessorCount,
            ["wall_seconds_excluding_build"] = Math.Round(_wallTime.TotalSeconds, 1),
            ["settings"] = new JsonObject
            {
                ["load_generator"] = $"wrk -t{_settings.Threads} -c{_settings.Connections} (closed loop, saturation)",
                ["duration_seconds"] = _settings.Duration.TotalSeconds,
                ["warmup_seconds"] = _settings.Warmup.TotalSeconds,
                ["rounds"] = _settings.Rounds,
                ["headline_body_bytes"] = size,
                ["latency_rate_per_second"] = _settings.SkipLatency ? null : _settings.LatencyRate,
                ["latency_seconds"] = _settings.SkipLatency ? null : _settings.LatencyDuration.TotalSeconds,
                ["ratio"] = "median over rounds of (scenario requests/s / baseline requests/s in the same round, behind the same handler); outputcache_redis_hit is divided by baseline_get (the same handler behind a GET), sqlite_* by sqlite_db_baseline and pg_* by pg_db_baseline (the handler that also writes the order's row, without idempotency, to the same kind of database), all others by baseline (POST)",
                ["confidence_interval"] = "95 % Student t-interval of the mean over rounds (mean ± t(0.975, n-1) · s / √n, n = rounds), reported beside the median; *_ci95 fields are [low, high]",
                ["processes"] = "one app process per group of modes, each mode a web application of its own (own DI container and store, own loopback port) in it: http (none, passthrough, memory, redis, redis-protected, redis-local, outputcache), sqlite (db-sqlite, efcore-sqlite), postgres (db-postgres, efcore-postgres); every baseline shares its process with the candidates divided by it",
                ["cpu_attribution"] = "scenarios run one at a time, so the app process's CPU over a scenario's wrk run is that scenario's (plus the idle hosts' timers, the same for every scenario of the process)",
                ["handlers"] = "realistic: deserializes, prices and serializes an order (201, Location); trivial: answers 201 with a constant 58-byte JSON object without reading the body (routes under /trivial)",
                ["unique_key_retention_hours"] = App.BenchServer.UniqueRetention.TotalHours,
            },
            ["ratios"] = Object(HeadlineScenarios, name => Round(Find(name, size)?.Ratio, 3)),
            ["ratios_trivial"] = Object(HeadlineScenarios, name => Round(Find(name, size, BenchHandler.Trivial)?.Ratio, 3)),
            ["ratios_ci95"] = IntervalObject(HeadlineScenarios, name => Find(name, size)?.RatioInterval, 3),
            ["ratios_trivial_ci95"] = IntervalObject(HeadlineScenarios, name => Find(name, size, BenchHandler.Trivial)?.RatioInterval, 3),
            ["ratios_database"] = Object(DatabaseScenarios, name => Round(Find(name, size)?.Ratio, 3)),
            ["sql_statements_per_request"] = Object(
                _summaries.Where(s => s.Scenario.Size == size && s.StatementsPerRequest is not null).Select(s => s.Scenario.Name),
                name => Find(name, size)?.StatementsPerRequest),
            ["ratios_by_size"] = RatiosBySize(BenchHandler.Realistic),
            ["ratios_by_size_trivial"] = RatiosBySize(BenchHandler.Trivial),
            ["redis_commands"] = new JsonObject
            {
                ["first"] = Round(Find("redis_first", size)?.RoundTripsPerRequest, 3),
                ["replay"] = Round(Find("redis_replay", size)?.RoundTripsPerRequest, 3),
                ["passthrough"] = Round(Find("passthrough", size)?.RoundTripsPerRequest, 3),
                ["outputcache_hit"] = Round(Find("outputcache_redis_hit", size)?.RoundTripsPerRequest, 3),
                ["counting"] = "commands clients sent per request (INFO commandstats delta over the scenario / requests the app served), without the commands Lua scripts ran inside Redis (" + string.Join(", ", RedisServer.ScriptInternal.Order()) + ")",
            },
            ["alloc_bytes_per_request"] = Allocations(BenchHandler.Realistic, above: false),
            ["alloc_bytes_above_baseline"] = Allocations(BenchHandler.Realistic, above: true),
            ["alloc_bytes_per_request_trivial"] = Allocations(BenchHandler.Trivial, above: false),
            ["alloc_bytes_above_baseline_trivial"] = Allocations(BenchHandler.Trivial, above: true),
            ["peak_working_set_bytes_64KiB"] = Object(
                _summaries.Where(s => s.Scenario.Size == 64 * 1024 && s.Scenario.Handler == BenchHandler.Realistic).Select(s => s.Scenario.Name),
                name => Find(name, 64 * 1024)?.PeakWorkingSetBytes),
            ["stored_response_served"] = new JsonObject(((BenchHandler[])[BenchHandler.Realistic, BenchHandler.Trivial]).Select(handler => KeyValuePair.Create<string, JsonNode?>(
                BenchHandlers.Name(handler),
                new JsonObject(StoredResponseRows(handler).Select(row => KeyValuePair.Create<string, JsonNode?>(row.Scenario.Name, new JsonObject
                {
                    ["requests_per_second_median"] = Math.Round(row.MedianRequestsPerSecond, 0),
                    ["requests_per_second_ci95"] = IntervalArray(row.RequestsPerSecondInterval, 0),
                    ["cpu_us_per_request_app"] = Round(row.AppCpuMicroseconds, 1),
                    ["cpu_us_per_request_redis"] = Round(row.ServerCpuMicroseconds, 1),
                    ["cpu_us_per_request_app_plus_redis"] = Round(row.AppCpuMicroseconds + (row.ServerCpuMicroseconds ?? 0), 1),
                    ["cpu_us_per_request_machine"] = Round(row.MachineCpuMicroseconds, 1),
                    ["cpu_us_per_request_app_ci95"] = IntervalArray(row.AppCpuInterval, 1),
                    ["cpu_us_per_request_machine_ci95"] = IntervalArray(row.MachineCpuInterval, 1),
                })))))),
            ["store_growth"] = new JsonObject
            {
                ["retention_hours"] = App.BenchServer.UniqueRetention.TotalHours,
                ["counting"] = "sampled after the warm-up (round 0) and after each round: memory_store_records = keyed requests the memory mode answered 201 without replaying (seeds and warm-up included; with 24 h retention none expires), app_* = the http app process (it hosts the memory store, the baselines and the Redis modes), redis_* = INFO memory used_memory and DBSIZE (every Redis mode's records and the output cache's entries); *_first_rps = that round's requests/s of the first-execution scenario at the headline size",
                ["samples"] = new JsonArray(_growth.Select(g => (JsonNode)new JsonObject
                {
                    ["round"] = g.Round,
                    ["elapsed_seconds"] = g.ElapsedSeconds,
                    ["memory_store_records"] = g.MemoryStoreRecords,
                    ["app_managed_heap_bytes"] = g.AppManagedHeapBytes,
                    ["app_gc_heap_size_bytes"] = g.AppGcHeapSizeBytes,
                    ["app_gen2_collections"] = g.AppGen2Collections,
                    ["app_gc_pause_ms_total"] = g.AppGcPauseMilliseconds,
                    ["redis_used_memory_bytes"] = g.RedisUsedMemoryBytes,
                    ["redis_keys"] = g.RedisKeys,
                    ["memory_first_rps"] = RoundRate("memory_first", BenchHandler.Realistic, g.Round),
                    ["memory_first_trivial_rps"] = RoundRate("memory_first", BenchHandler.Trivial, g.Round),
                    ["redis_first_rps"] = RoundRate("redis_first", BenchHandler.Realistic, g.Round),
                    ["redis_first_trivial_rps"] = RoundRate("redis_first", BenchHandler.Trivial, g.Round),
                }).ToArray()),
            },
            ["targets"] = new JsonArray(Targets().Select(t => (JsonNode)new JsonObject
            {
                ["name"] = t.Name,
                ["handler"] = BenchHandlers.Name(t.Handler),
                ["goal"] = t.Goal,
                ["value"] = t.Value,
                ["met"] = t.Met,
            }).ToArray()),
            ["latency_fixed_rate"] = new JsonArray(_latencies.Select(l => (JsonNode)new JsonObject
            {
                ["scenario"] = l.Scenario,
                ["body_bytes"] = l.Size,
                ["rate"] = l.Rate,
                ["achieved_rate"] = Math.Round(l.AchievedRate, 1),
                ["sent"] = l.Sent,
                ["failed"] = l.Failed,
                ["p50_ms"] = l.P50Ms,
                ["p90_ms"] = l.P90Ms,
                ["p99_ms"] = l.P99Ms,
                ["p999_ms"] = l.P999Ms,
                ["max_ms"] = l.MaxMs,
                ["max_client_lateness_ms"] = l.MaxClientLatenessMs,
            }).ToArray()),
            ["scenarios"] = new JsonArray(_summaries.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Scenario.Name,
                ["handler"] = BenchHandlers.Name(s.Scenario.Handler),
                ["body_bytes"] = s.Scenario.Size,
                ["mode"] = App.BenchModes.Name(s.Scenario.Mode),
                ["request"] = $"{s.Scenario.Method} {s.Scenario.Path} keys={s.Scenario.Keys.ToString().ToLowerInvariant()}",
                ["baseline"] = s.Scenario.Baseline,
                ["requests_per_second_rounds"] = new JsonArray(s.RequestsPerSecond.Select(r => (JsonNode)r).ToArray()),
                ["requests_per_second_median"] = Math.Round(s.MedianRequestsPerSecond, 0),
                ["requests_per_second_ci95"] = IntervalArray(s.RequestsPerSecondInterval, 0),
                ["ratio"] = Round(s.Ratio, 3),
                ["ratio_rounds"] = s.RatioRounds is null ? null : new JsonArray(s.RatioRounds.Select(r => (JsonNode)r).ToArray()),
                ["ratio_ci95"] = IntervalArray(s.RatioInterval, 3),
                ["alloc_bytes_per_request"] = Math.Round(s.MedianAllocatedBytesPerRequest, 0),
                ["alloc_bytes_per_request_ci95"] = IntervalArray(s.AllocatedBytesInterval, 0),
                ["alloc_bytes_above_baseline"] = Round(s.AllocatedBytesAboveBaseline, 0),
                ["handler_executions_per_request"] = Math.Round(s.ExecutionsPerRequest, 3),
                ["redis_round_trips_per_request"] = s.RoundTripsPerRequest,
                ["redis_commands_per_request"] = s.CommandsPerRequest is null ? null : new JsonObject(s.CommandsPerRequest.Select(c => KeyValuePair.Create<string, JsonNode?>(c.Key, c.Value))),
                ["sql_statements_per_request"] = s.StatementsPerRequest,
                ["sql_statement_calls_per_request"] = s.StatementCallsPerRequest is null ? null : new JsonObject(s.StatementCallsPerRequest.Select(c => KeyValuePair.Create<string, JsonNode?>(c.Key, c.Value))),
                ["peak_working_set_bytes"] = s.PeakWorkingSetBytes,
                ["gen2_collections"] = s.Gen2Collections,
                ["non_2xx_fraction"] = Math.Round(s.Non2xxFraction, 4),
                ["socket_errors"] = s.SocketErrors,
                ["wrk_latency_p50_us"] = s.WrkP50Microseconds,
                ["wrk_latency_p99_us"] = s.WrkP99Microseconds,
                ["cpu_us_per_request"] = new JsonObject
                {
                    ["app"] = Round(s.AppCpuMicroseconds, 1),
                    [s.Scenario.UsesPostgres ? "postgres" : "redis"] = Round(s.ServerCpuMicroseconds, 1),
                    ["machine"] = Round(s.MachineCpuMicroseconds, 1),
                },
                ["cpu_us_per_request_ci95"] = new JsonObject
                {
                    ["app"] = IntervalArray(s.AppCpuInterval, 1),
                    [s.Scenario.UsesPostgres ? "postgres" : "redis"] = IntervalArray(s.ServerCpuInterval, 1),
                    ["machine"] = IntervalArray(s.MachineCpuInterval, 1),
                },
            }).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    public string ToMarkdown()
    {
        var size = _settings.HeadlineSize;
        var md = new StringBuilder();
        md.AppendLine("# Idempotency load test: latest results");
        md.AppendLine();
        if (!string.IsNullOrEmpty(_settings.Label))
        {
            md.AppendLine($"> **{_settings.Label}**");
            md.AppendLine();
        }

        md.AppendLine(Invariant($"- Machine: {_machine}. Before the run started anything, its cores were {_cpuBusyBeforeStart?.ToString("P0", CultureInfo.InvariantCulture) ?? "?"} busy (3 s sample: other work on the machine). 1-minute load average at start {_loadAverage?.ToString(CultureInfo.InvariantCulture) ?? "?"}, at end {_loadAverageAtEnd?.ToString(CultureInfo.InvariantCulture) ?? "?"} (it also counts the build just before the run and the run's own app, Redis and wrk)."));
        md.AppendLine(Invariant($"- Command: `{_command}`, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC."));
        md.AppendLine(Invariant($"- Wall time: {_wallTime.TotalSeconds:F0} s, builds excluded. wrk -t{_settings.Threads} -c{_settings.Connections}, {_settings.Rounds} rounds of {_settings.Duration.TotalSeconds} s per scenario after a {_settings.Warmup.TotalSeconds} s warm-up, modes interleaved."));
        md.AppendLine("- Ratio: requests/s of the scenario divided by the baseline's in the same round (median over rounds). The baseline is the same handler with nothing in front of it: `POST /orders` (`baseline`), or `GET /orders/{size}` (`baseline_get`) for output caching; for the `sqlite_*` and `pg_*` rows, the handler that also writes the order's row to the same kind of database (`sqlite_db_baseline`, `pg_db_baseline`).");
        md.AppendLine("- Two handlers: *realistic* (deserializes, prices and serializes an order) and *trivial* (a constant 58-byte object, body unread), each with its own baseline. The middleware's targets are judged behind the trivial one. A baseline and its candidates are served by one app process (each mode its own web application and port in it), with byte-identical requests from wrk, the ignored `Idempotency-Key` included.");
        md.AppendLine(Invariant($"- Unique-key scenarios keep their records {App.BenchServer.UniqueRetention.TotalHours:0} h: the stores fill for the whole run (see Store growth)."));
        md.AppendLine("- 95 % CI: Student t-interval of the mean over rounds, beside the median.");
        md.AppendLine("- Regenerate: the command above, from the repository root (see bench/README.md).");
        md.AppendLine();

        md.AppendLine("## Ratios to the same-run baseline");
        md.AppendLine();
        var sizes = _settings.Sizes;
        md.AppendLine("| scenario | handler | " + string.Join(" | ", sizes.Select(SizeName)) + $" | 95 % CI at {SizeName(size)} |");
        md.AppendLine("|---|---|" + string.Concat(sizes.Select(_ => "---:|")) + "---|");
        foreach (var (name, handler) in _summaries.Select(s => (s.Scenario.Name, s.Scenario.Handler)).Distinct().OrderBy(x => x.Handler))
        {
            var headline = Find(name, size, handler);
            var interval = headline is null ? "" : IsBaseline(headline) ? Ci(headline.RequestsPerSecondInterval, "F0") + "/s" : Ci(headline.RatioInterval, "F2");
            md.AppendLine($"| {name} | {BenchHandlers.Name(handler)} | " + string.Join(" | ", sizes.Select(s => Find(name, s, handler) is { } x ? (!IsBaseline(x) && x.Ratio is { } r ? Invariant($"{r:F2}") : Invariant($"{x.MedianRequestsPerSecond:F0}/s")) : "")) + $" | {interval} |");
        }

        md.AppendLine();
        md.AppendLine("Baseline rows show requests/s (median, and the CI of requests/s).");
        md.AppendLine();

        md.AppendLine($"## Targets ({SizeName(size)} bodies)");
        md.AppendLine();
        md.AppendLine("| target | handler | goal | value | met |");
        md.AppendLine("|---|---|---|---:|---|");
        foreach (var target in Targets())
        {
            md.AppendLine($"| {target.Name} | {BenchHandlers.Name(target.Handler)} | {target.Goal} | {target.Value?.ToString(CultureInfo.InvariantCulture) ?? "n/a"} | {(target.Met is null ? "n/a" : target.Met.Value ? "yes" : "**no**")} |");
        }

        md.AppendLine();
        md.AppendLine($"## Per request ({SizeName(size)} bodies)");
        md.AppendLine();
        md.AppendLine("| scenario | handler | req/s (median) | req/s 95 % CI | req/s per round | alloc B/req | above baseline | handler runs/req | Redis round trips/req | Redis commands/req | non-2xx | wrk p50 / p99 (ms, saturated) | CPU µs/req: app / Redis or PostgreSQL / machine |");
        md.AppendLine("|---|---|---:|---|---|---:|---:|---:|---:|---|---:|---|---|");
        foreach (var s in _summaries.Where(s => s.Scenario.Size == size).OrderBy(s => s.Scenario.Handler))
        {
            var commands = s.CommandsPerRequest is null ? "" : string.Join(", ", s.CommandsPerRequest.Select(c => Invariant($"{c.Key} {c.Value:0.##}")));
            md.AppendLine(Invariant(
                $"| {s.Scenario.Name} | {BenchHandlers.Name(s.Scenario.Handler)} | {s.MedianRequestsPerSecond:F0} | {Ci(s.RequestsPerSecondInterval, "F0")} | {string.Join(", ", s.RequestsPerSecond)} | {s.MedianAllocatedBytesPerRequest:F0} | {s.AllocatedBytesAboveBaseline:F0} | {s.ExecutionsPerRequest:F2} | {s.RoundTripsPerRequest:F2} | {commands} | {s.Non2xxFraction:P1} | {s.WrkP50Microseconds / 1000.0:F2} / {s.WrkP99Microseconds / 1000.0:F2} | {s.AppCpuMicroseconds:F0} / {(s.ServerCpuMicroseconds is { } server ? Invariant($"{server:F0}") : "–")} / {s.MachineCpuMicroseconds:F0} |"));
        }

        var withStatements = _summaries.Where(s => s.Scenario.Size == size && s.StatementCallsPerRequest is not null).ToList();
        if (withStatements.Count > 0)
        {
            md.AppendLine();
            md.AppendLine($"## SQL statements per request, PostgreSQL ({SizeName(size)} bodies)");
            md.AppendLine();
            md.AppendLine("What the app sent to its database per request served (`pg_stat_statements` calls over the scenario ÷ requests; `BEGIN` and `COMMIT` included; Npgsql sends a `BEGIN` together with the statement after it, so statements are an upper bound on round trips).");
            md.AppendLine();
            md.AppendLine("| scenario | statements/req | statement | calls/req |");
            md.AppendLine("|---|---:|---|---:|");
            foreach (var s in withStatements)
            {
                var first = true;
                foreach (var (statement, calls) in s.StatementCallsPerRequest!)
                {
                    var text = statement.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal);
                    text = text.Length > 160 ? text[..157] + "..." : text;
                    md.AppendLine(Invariant($"| {(first ? s.Scenario.Name : "")} | {(first ? Invariant($"{s.StatementsPerRequest:F2}") : "")} | `{text}` | {calls:0.###} |"));
                    first = false;
                }
            }
        }

        AppendStoredResponse(md);
        AppendGrowth(md);

        md.AppendLine();
        md.AppendLine("## Other sizes");
        md.AppendLine();
        md.AppendLine("| scenario | handler | size | req/s (median) | alloc B/req | above baseline | Redis round trips/req | peak working set (MiB) |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var s in _summaries.Where(s => s.Scenario.Size != size))
        {
            md.AppendLine(Invariant(
                $"| {s.Scenario.Name} | {BenchHandlers.Name(s.Scenario.Handler)} | {SizeName(s.Scenario.Size)} | {s.MedianRequestsPerSecond:F0} | {s.MedianAllocatedBytesPerRequest:F0} | {s.AllocatedBytesAboveBaseline:F0} | {s.RoundTripsPerRequest:F2} | {s.PeakWorkingSetBytes / 1048576.0:F0} |"));
        }

        md.AppendLine();
        md.AppendLine("Peak working set is the app process's VmHWM during the scenario (reset before it). The in-memory store's");
        md.AppendLine("records count in it for every row served by the same process (the http group: baselines and Redis rows too).");

        if (_latencies.Count > 0)
        {
            md.AppendLine();
            md.AppendLine(Invariant($"## Latency at a fixed rate ({_settings.LatencyRate} req/s, {_settings.LatencyDuration.TotalSeconds} s, open loop)"));
            md.AppendLine();
            md.AppendLine("| scenario | size | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | failed |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var l in _latencies)
            {
                md.AppendLine(Invariant($"| {l.Scenario} | {SizeName(l.Size)} | {l.AchievedRate:F0} | {l.P50Ms:F2} | {l.P90Ms:F2} | {l.P99Ms:F2} | {l.P999Ms:F2} | {l.MaxMs:F2} | {l.Failed} |"));
            }

            md.AppendLine();
            md.AppendLine("Measured by the runner's own open-loop .NET client, not wrk: requests leave on schedule whether or not earlier ones");
            md.AppendLine("were answered, so a stall shows as latency instead of as a client that politely waited (coordinated omission).");
        }

        return md.ToString();
    }

    public string Summary()
    {
        var size = _settings.HeadlineSize;
        var lines = new List<string> { $"Ratios to baseline at {SizeName(size)} (realistic / trivial handler):" };
        foreach (var name in HeadlineScenarios.Concat(DatabaseScenarios).Where(name => Find(name, size) is not null || Find(name, size, BenchHandler.Trivial) is not null))
        {
            lines.Add(Invariant($"  {name,-24} {Find(name, size)?.Ratio:F3} / {Find(name, size, BenchHandler.Trivial)?.Ratio:F3}"));
        }

        foreach (var target in Targets())
        {
            lines.Add($"  [{(target.Met is null ? "n/a" : target.Met.Value ? "met" : "MISSED")}] {target.Name} ({BenchHandlers.Name(target.Handler)}) {target.Goal}: {target.Value?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}");
        }

        return string.Join('\n', lines);
    }

    private static bool IsBaseline(ScenarioSummary summary) => summary.Scenario.Name == summary.Scenario.Baseline;

    private void AppendStoredResponse(StringBuilder md)
    {
        var rows = ((BenchHandler[])[BenchHandler.Trivial, BenchHandler.Realistic]).SelectMany(StoredResponseRows).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        md.AppendLine();
        md.AppendLine($"## One stored response served, in absolute terms ({SizeName(_settings.HeadlineSize)} bodies)");
        md.AppendLine();
        md.AppendLine("Idempotency replays (a POST whose body is read and fingerprinted) beside Output Caching's hit (a GET, no body), each");
        md.AppendLine("with the same handler's response stored. CPU is the app process's and redis-server's over each scenario's run,");
        md.AppendLine("divided by the requests served (scenarios run one at a time, so the shared process's CPU in that window is the scenario's).");
        md.AppendLine();
        md.AppendLine("| scenario | handler | req/s (median) | req/s 95 % CI | CPU µs/req app | Redis | app + Redis | machine | app 95 % CI |");
        md.AppendLine("|---|---|---:|---|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            md.AppendLine(Invariant(
                $"| {row.Scenario.Name} | {BenchHandlers.Name(row.Scenario.Handler)} | {row.MedianRequestsPerSecond:F0} | {Ci(row.RequestsPerSecondInterval, "F0")} | {row.AppCpuMicroseconds:F0} | {(row.ServerCpuMicroseconds is { } server ? Invariant($"{server:F0}") : "–")} | {row.AppCpuMicroseconds + (row.ServerCpuMicroseconds ?? 0):F0} | {row.MachineCpuMicroseconds:F0} | {Ci(row.AppCpuInterval, "F0")} |"));
        }
    }

    private void AppendGrowth(StringBuilder md)
    {
        if (_growth.Count == 0)
        {
            return;
        }

        md.AppendLine();
        md.AppendLine(Invariant($"## Store growth ({App.BenchServer.UniqueRetention.TotalHours:0} h retention)"));
        md.AppendLine();
        md.AppendLine("After the warm-up (round 0) and after each round. Memory store records: keyed requests the memory mode answered 201");
        md.AppendLine("without replaying (none expires within the run). App heap: the http app process (memory store, baselines, Redis modes).");
        md.AppendLine(Invariant($"First-execution req/s are that round's, at {SizeName(_settings.HeadlineSize)}, realistic / trivial handler."));
        md.AppendLine();
        md.AppendLine("| round | s | memory store records | app heap in use (MiB) | GC heap after last GC (MiB) | gen2 GCs | GC pause total (ms) | memory_first req/s | Redis keys | Redis used_memory (MiB) | redis_first req/s |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|");
        foreach (var g in _growth)
        {
            md.AppendLine(Invariant(
                $"| {g.Round} | {g.ElapsedSeconds:F0} | {g.MemoryStoreRecords} | {g.AppManagedHeapBytes / 1048576.0:F0} | {g.AppGcHeapSizeBytes / 1048576.0:F0} | {g.AppGen2Collections} | {g.AppGcPauseMilliseconds:F0} | {RoundRate("memory_first", BenchHandler.Realistic, g.Round)?.ToString(CultureInfo.InvariantCulture) ?? "–"} / {RoundRate("memory_first", BenchHandler.Trivial, g.Round)?.ToString(CultureInfo.InvariantCulture) ?? "–"} | {g.RedisKeys} | {g.RedisUsedMemoryBytes / 1048576.0:F0} | {RoundRate("redis_first", BenchHandler.Realistic, g.Round)?.ToString(CultureInfo.InvariantCulture) ?? "–"} / {RoundRate("redis_first", BenchHandler.Trivial, g.Round)?.ToString(CultureInfo.InvariantCulture) ?? "–"} |"));
        }
    }

    private JsonObject RatiosBySize(BenchHandler handler)
        => new(_settings.Sizes.Select(s => KeyValuePair.Create<string, JsonNode?>(
            s.ToString(CultureInfo.InvariantCulture),
            Object(_summaries.Where(x => x.Scenario.Size == s && x.Scenario.Handler == handler && x.Ratio is not null).Select(x => x.Scenario.Name), name => Round(Find(name, s, handler)?.Ratio, 3)))));

    private JsonObject Allocations(BenchHandler handler, bool above)
    {
        var size = _settings.HeadlineSize;
        return Object(
            _summaries.Where(s => s.Scenario.Size == size && s.Scenario.Handler == handler && (!above || s.Scenario.Name != s.Scenario.Baseline)).Select(s => s.Scenario.Name),
            name => Round(above ? Find(name, size, handler)?.AllocatedBytesAboveBaseline : Find(name, size, handler)?.MedianAllocatedBytesPerRequest, 0));
    }

    /// <summary>The rows that serve one stored response, at the headline size: replays from each store and the output cache's hit.</summary>
    private IEnumerable<ScenarioSummary> StoredResponseRows(BenchHandler handler)
        => ((string[])["memory_replay", "redis_replay", "redis_replay_local", "redis_protected_replay", "outputcache_redis_hit"])
            .Select(name => Find(name, _settings.HeadlineSize, handler))
            .Where(row => row is not null)!;

    /// <summary>Requests/s of one scenario at the headline size in one round (1-based); <see langword="null"/> for round 0 or when it did not run.</summary>
    private double? RoundRate(string name, BenchHandler handler, int round)
    {
        var measurement = _measurements.FirstOrDefault(m => m.Round == round - 1 && m.Scenario.Name == name && m.Scenario.Handler == handler && m.Scenario.Size == _settings.HeadlineSize);
        return measurement is null ? null : Math.Round(measurement.Wrk.RequestsPerSecond, 0);
    }

    private static JsonArray? IntervalArray(Interval? interval, int digits)
        => interval?.Low is { } low && interval.High is { } high ? new JsonArray(Math.Round(low, digits), Math.Round(high, digits)) : null;

    private static JsonObject IntervalObject(IEnumerable<string> names, Func<string, Interval?> value, int digits)
        => new(names.Distinct().Select(name => KeyValuePair.Create<string, JsonNode?>(name, IntervalArray(value(name), digits))));

    private static string Ci(Interval? interval, string format)
        => interval?.Low is { } low && interval.High is { } high
            ? string.Create(CultureInfo.InvariantCulture, $"{low.ToString(format, CultureInfo.InvariantCulture)}–{high.ToString(format, CultureInfo.InvariantCulture)}")
            : "–";

    private static JsonObject Object(IEnumerable<string> names, Func<string, double?> value)
        => new(names.Distinct().Select(name => KeyValuePair.Create<string, JsonNode?>(name, value(name) is { } v ? JsonValue.Create(v) : null)));

    private static JsonObject Object(IEnumerable<string> names, Func<string, long?> value)
        => new(names.Distinct().Select(name => KeyValuePair.Create<string, JsonNode?>(name, value(name) is { } v ? JsonValue.Create(v) : null)));

    private static double Median(IEnumerable<double> values) => Statistics.Median(values);

    private static double? MedianOrNull(IEnumerable<double?> values)
    {
        var known = values.Where(v => v is not null).Select(v => v!.Value).ToArray();
        return known.Length == 0 ? null : Median(known);
    }

    private static double? Round(double? value, int digits) => value is null ? null : Math.Round(value.Value, digits);

    private static string SizeName(int size) => size % 1024 == 0 ? $"{size / 1024} KiB" : $"{size} B";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
