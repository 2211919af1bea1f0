using System.Diagnostics;
using System.Globalization;
using System.Net;
using Idempotency.LoadTest.App;

namespace Idempotency.LoadTest.Runner;

/// <summary>
/// <c>run</c>: starts redis-server, PostgreSQL (when a scenario needs it) and the bench app processes (one per group of
/// modes: a baseline and its candidates in one process), seeds replayable keys, warms every scenario up, measures all
/// scenarios round after round (modes interleaved, one scenario at a time, so a process's CPU over a scenario's window is
/// that scenario's), samples how full the stores are after each round, measures latency at a fixed rate, stops
/// everything it started, and writes <c>latest.json</c> and <c>latest.md</c>.
/// </summary>
public static class BenchRunner
{
    public static async Task<int> RunAsync(string[] args)
    {
        var settings = RunSettings.Parse(args);
        var wall = Stopwatch.StartNew();
        var loadAverage = MachineInfo.LoadAverage();
        using var stop = new CancellationTokenSource(settings.MaxTime);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        var cancellationToken = stop.Token;

        using var directory = new RunDirectory(settings.WorkDirectory);
        var luaScript = Path.Combine(AppContext.BaseDirectory, "lua", "bench.lua");
        var wrk = new Wrk(luaScript, settings.Threads, settings.Connections, directory);
        var scenarios = Scenario.All(settings.Sizes, settings.HeadlineSize, settings.Full, settings.Only);
        var modes = scenarios.Select(s => s.Mode).Distinct().ToArray();
        var bodies = settings.Sizes.ToDictionary(size => size, OrderHandlers.CreateRequestBody);
        var bodyFiles = new Dictionary<int, string>();
        foreach (var (size, body) in bodies)
        {
            bodyFiles[size] = Path.Combine(directory.Path, $"body-{size}.json");
            await File.WriteAllBytesAsync(bodyFiles[size], body, cancellationToken);
        }

        var runId = Guid.NewGuid().ToString("N")[..8];
        var busyBefore = await MachineInfo.MeasureCpuBusyAsync(TimeSpan.FromSeconds(3), cancellationToken);
        Log($"machine: {MachineInfo.Describe()}; load average {loadAverage?.ToString(CultureInfo.InvariantCulture) ?? "?"}; cores busy before the run {busyBefore?.ToString("P0", CultureInfo.InvariantCulture) ?? "?"}");
        Log($"{scenarios.Count} scenarios x {settings.Rounds} rounds x {settings.Duration.TotalSeconds} s, wrk -t{settings.Threads} -c{settings.Connections}; work dir {directory.Path}");

        RedisServer? redis = null;
        PostgresServer? postgres = null;
        var processes = new List<BenchAppProcess>();
        var apps = new Dictionary<BenchMode, BenchAppHost>();
        try
        {
            redis = await RedisServer.StartAsync(directory, cancellationToken);
            Log($"redis-server pid {redis.ProcessId} on {redis.Configuration}");
            if (modes.Any(BenchModes.UsesPostgres))
            {
                postgres = await PostgresServer.StartAsync(directory, modes.Where(BenchModes.UsesPostgres).Select(DatabaseName), cancellationToken);
                Log($"{postgres.Version} pid {postgres.ServerProcessId} on 127.0.0.1:{postgres.Port} (fsync and synchronous_commit at their defaults: on)");
            }

            var maxSeconds = (int)settings.MaxTime.TotalSeconds + 60;
            var starting = modes.GroupBy(BenchModes.Group).Select(group => BenchAppProcess.StartAsync(
                group.Key, group.ToArray(), redis.Configuration, mode => Database(mode, postgres, directory), maxSeconds, directory, cancellationToken)).ToArray();
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                // The processes that did start are stopped below, whether or not another one failed.
                processes.AddRange(starting.Where(task => task.IsCompletedSuccessfully).Select(task => task.Result));
            }

            foreach (var process in processes)
            {
                foreach (var host in process.Hosts)
                {
                    apps[host.Mode] = host;
                }

                Log($"app {process.Name} pid {process.ProcessId}: {string.Join(", ", process.Hosts.Select(h => $"{BenchModes.Name(h.Mode)} on {h.BaseAddress}"))}");
            }

            Log($"started in {wall.Elapsed.TotalSeconds:F1} s");
            await SeedAndVerifyAsync(apps, scenarios, bodies, cancellationToken);
            Log($"seeded and verified at {wall.Elapsed.TotalSeconds:F1} s");

            // Every code path is JIT-compiled and tiered up before measuring: all scenarios at the headline size and at
            // the largest size (file buffering, bigger snapshots); the smallest size runs the headline's code.
            foreach (var scenario in scenarios.Where(s => s.Size == settings.HeadlineSize || s.Size == settings.Sizes.Max()))
            {
                await wrk.RunAsync(apps[scenario.Mode].BaseAddress, scenario, bodyFiles[scenario.Size], KeyPrefix(runId, scenario, "warm"), settings.Warmup, cancellationToken);
            }

            Log($"warmed up at {wall.Elapsed.TotalSeconds:F1} s");
            var growth = new List<StoreGrowthSample> { await SampleStoresAsync(apps, redis, 0, wall.Elapsed, cancellationToken) };
            var measurements = new List<Measurement>();
            for (var round = 0; round < settings.Rounds; round++)
            {
                // Each round starts elsewhere in the list, so no scenario always runs right after the same neighbour.
                var offset = round * scenarios.Count / settings.Rounds;
                for (var i = 0; i < scenarios.Count; i++)
                {
                    var scenario = scenarios[(i + offset) % scenarios.Count];
                    var measurement = await MeasureAsync(wrk, apps[scenario.Mode], redis, postgres, scenario, round, bodyFiles[scenario.Size], KeyPrefix(runId, scenario, $"r{round}"), settings.Duration, cancellationToken);
                    measurements.Add(measurement);
                }

                var sample = await SampleStoresAsync(apps, redis, round + 1, wall.Elapsed, cancellationToken);
                growth.Add(sample);
                Log(Invariant($"round {round + 1}/{settings.Rounds} done at {wall.Elapsed.TotalSeconds:F1} s; memory store {sample.MemoryStoreRecords} records, app heap {sample.AppManagedHeapBytes / 1048576.0:F0} MiB; Redis {sample.RedisKeys} keys, used_memory {sample.RedisUsedMemoryBytes / 1048576.0:F0} MiB"));
            }

            var latencies = new List<LatencyResult>();
            if (!settings.SkipLatency)
            {
                // Not the database rows: a handler that waits for a durable commit may not keep up with the fixed rate on a
                // small machine, and an open-loop client then measures its own queue.
                // The realistic handler's rows only, as before the trivial handler was added: they are what a client waits for.
                foreach (var scenario in scenarios.Where(s => s.Size == settings.HeadlineSize && s.Keys != KeyKind.Hot && s.Handler == BenchHandler.Realistic && !BenchModes.WritesToDatabase(s.Mode)))
                {
                    var app = apps[scenario.Mode];
                    var prefix = KeyPrefix(runId, scenario, "lat");
                    var result = await FixedRateClient.RunAsync(app.BaseAddress, scenario, bodies[scenario.Size], prefix, settings.LatencyRate, settings.LatencyDuration, cancellationToken);
                    latencies.Add(result);
                    Log(FixedRateClient.Describe(result));
                }
            }

            // bench/run.sh says how it was called; run directly, the runner's own arguments are the command.
            var command = Environment.GetEnvironmentVariable("BENCH_COMMAND") is { Length: > 0 } script ? script : "Idempotency.LoadTest run " + string.Join(' ', args);
            var report = new Report(settings, MachineInfo.Describe(), command, busyBefore, loadAverage, MachineInfo.LoadAverage(), measurements, latencies, growth, wall.Elapsed);
            Directory.CreateDirectory(settings.OutputDirectory);
            var json = report.ToJson();
            var markdown = report.ToMarkdown();
            await File.WriteAllTextAsync(Path.Combine(settings.OutputDirectory, "latest.json"), json, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(settings.OutputDirectory, "latest.md"), markdown, cancellationToken);
            if (settings.KeepDatedCopy)
            {
                // A run worth keeping beside the ones before it: latest.* is overwritten by every run, this copy is not.
                var stamp = DateTime.UtcNow.ToString("yyyy-MM-dd-HHmm", CultureInfo.InvariantCulture);
                await File.WriteAllTextAsync(Path.Combine(settings.OutputDirectory, $"run-{stamp}Z.json"), json, cancellationToken);
                await File.WriteAllTextAsync(Path.Combine(settings.OutputDirectory, $"run-{stamp}Z.md"), markdown, cancellationToken);
            }

            Console.WriteLine();
            Console.WriteLine(report.Summary());
            Log($"wrote {Path.Combine(settings.OutputDirectory, "latest.json")} and latest.md; wall time {wall.Elapsed.TotalSeconds:F1} s (builds excluded)");
            return 0;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"bench run failed after {wall.Elapsed.TotalSeconds:F1} s: {ex}");
            foreach (var process in processes)
            {
                Console.Error.WriteLine($"--- app {process.Name} log tail ---\n{process.LogTail()}");
            }

            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }

            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }

            if (redis is not null)
            {
                await redis.DisposeAsync();
            }
        }
    }

    /// <summary>Each database mode's app gets a database of its own, of the same kind (the same PostgreSQL server; SQLite files side by side).</summary>
    private static string? Database(BenchMode mode, PostgresServer? postgres, RunDirectory directory)
    {
        if (!BenchModes.WritesToDatabase(mode))
        {
            return null;
        }

        if (BenchModes.UsesPostgres(mode))
        {
            return postgres!.ConnectionString(DatabaseName(mode));
        }

        var sqlite = Path.Combine(directory.Path, "sqlite");
        Directory.CreateDirectory(sqlite);
        return $"Data Source={Path.Combine(sqlite, DatabaseName(mode) + ".db")}";
    }

    private static string DatabaseName(BenchMode mode) => "bench_" + BenchModes.Name(mode).Replace('-', '_');

    /// <summary>The memory mode's records and its process's heap, and Redis's memory, at the end of a round.</summary>
    private static async Task<StoreGrowthSample> SampleStoresAsync(Dictionary<BenchMode, BenchAppHost> apps, RedisServer redis, int round, TimeSpan elapsed, CancellationToken cancellationToken)
    {
        var memory = apps.TryGetValue(BenchMode.Memory, out var host) ? await host.ReadStatsAsync(cancellationToken) : null;
        var (usedMemory, keys) = await redis.ReadMemoryAsync(cancellationToken);
        return new StoreGrowthSample(
            round,
            Math.Round(elapsed.TotalSeconds, 1),
            memory?.KeyedCreated,
            memory?.ManagedHeapBytes,
            memory?.GcHeapSizeBytes,
            memory?.Gen2Collections,
            memory is null ? null : Math.Round(memory.GcPauseMilliseconds, 1),
            usedMemory,
            keys);
    }

    private static async Task<Measurement> MeasureAsync(
        Wrk wrk, BenchAppHost app, RedisServer redis, PostgresServer? postgres, Scenario scenario, int round, string bodyFile, string keyPrefix, TimeSpan duration,
        CancellationToken cancellationToken)
    {
        await app.ResetPeakAsync(cancellationToken);
        var before = await app.ReadStatsAsync(cancellationToken);
        var commandsBefore = scenario.UsesRedis ? await redis.ReadCommandStatsAsync(cancellationToken) : null;
        var statementsBefore = scenario.UsesPostgres ? await postgres!.ReadStatementCallsAsync(DatabaseName(scenario.Mode), cancellationToken) : null;
        long? ServerTicks() => scenario.UsesPostgres ? postgres!.CpuTicks() : CpuTicks.OfProcess(redis.ProcessId);
        var cpuBefore = CpuUse.Read(app.ProcessId, ServerTicks());
        var result = await wrk.RunAsync(app.BaseAddress, scenario, bodyFile, keyPrefix, duration, cancellationToken);

        // Read at once: the pause below is idle time the app's requests did not use.
        var cpu = CpuUse.Read(app.ProcessId, ServerTicks()).Since(cpuBefore);

        // Requests wrk left in flight when it stopped finish (or fail) within a moment; then the counters are stable.
        await Task.Delay(200, cancellationToken);
        var after = await app.ReadStatsAsync(cancellationToken);
        Dictionary<string, long>? commands = null;
        if (commandsBefore is not null)
        {
            var commandsAfter = await redis.ReadCommandStatsAsync(cancellationToken);
            commands = commandsAfter
                .Where(c => !RedisServer.IsHousekeeping(c.Key))
                .Select(c => (c.Key, Delta: c.Value - commandsBefore.GetValueOrDefault(c.Key)))
                .Where(c => c.Delta > 0)
                .ToDictionary(c => c.Key, c => c.Delta, StringComparer.Ordinal);
        }

        Dictionary<string, long>? statements = null;
        if (statementsBefore is not null)
        {
            var statementsAfter = await postgres!.ReadStatementCallsAsync(DatabaseName(scenario.Mode), cancellationToken);
            statements = statementsAfter
                .Select(c => (c.Key, Delta: c.Value - statementsBefore.GetValueOrDefault(c.Key)))
                .Where(c => c.Delta > 0)
                .ToDictionary(c => c.Key, c => c.Delta, StringComparer.Ordinal);
        }

        var measurement = new Measurement(
            scenario,
            round,
            result,
            after.Requests - before.Requests,
            after.HandlerExecutions - before.HandlerExecutions,
            after.AllocatedBytes - before.AllocatedBytes,
            after.PeakWorkingSetBytes,
            after.Gen2Collections - before.Gen2Collections,
            commands,
            statements,
            cpu);
        var trips = measurement.RoundTripsPerRequest is { } t ? string.Create(CultureInfo.InvariantCulture, $"  redis cmds/req {t:F2}") : string.Empty;
        trips += measurement.StatementsPerRequest is { } sql ? string.Create(CultureInfo.InvariantCulture, $"  sql statements/req {sql:F2}") : string.Empty;
        var errors = result.StatusErrors + result.SocketErrors > 0 ? $"  non-2xx {result.StatusErrors} socket errors {result.SocketErrors}" : string.Empty;
        Log(string.Create(CultureInfo.InvariantCulture,
            $"  {scenario.Id,-40} {result.RequestsPerSecond,9:F0} req/s  {measurement.AllocatedBytesPerRequest,8:F0} B/req  exec/req {measurement.ExecutionsPerRequest:F2}{trips}{errors}"));
        return measurement;
    }

    /// <summary>
    /// Sends each kind of request once by hand and checks what it got, then stores the keys replays will cycle through
    /// and the entries output caching will serve, for each size and handler the scenarios use. A misconfigured app
    /// fails here, not as a plausible-looking number.
    /// </summary>
    private static async Task SeedAndVerifyAsync(Dictionary<BenchMode, BenchAppHost> apps, List<Scenario> scenarios, Dictionary<int, byte[]> bodies, CancellationToken cancellationToken)
    {
        var targets = scenarios.Select(s => (s.Mode, s.Size, s.Handler)).Distinct().ToArray();
        await Task.WhenAll(targets.Select(t => SeedOrCheckAsync(apps[t.Mode], t.Size, t.Handler, bodies[t.Size], cancellationToken)));
    }

    private static Task SeedOrCheckAsync(BenchAppHost app, int size, BenchHandler handler, byte[] body, CancellationToken cancellationToken) => app.Mode switch
    {
        BenchMode.None or BenchMode.DbSqlite or BenchMode.DbPostgres
            => ExpectAsync(app, "POST", BenchHandlers.Path(handler, "/orders"), body, key: "check", HttpStatusCode.Created, replayed: false, cancellationToken),
        BenchMode.Passthrough => CheckPassthroughAsync(app, size, handler, body, cancellationToken),
        BenchMode.OutputCache => CheckOutputCacheAsync(app, size, handler, body, cancellationToken),
        _ => SeedAsync(app, size, handler, body, cancellationToken),
    };

    /// <summary>Pass-through gets the baseline's requests, key included, and must neither store nor replay them.</summary>
    private static async Task CheckPassthroughAsync(BenchAppHost app, int size, BenchHandler handler, byte[] body, CancellationToken cancellationToken)
    {
        var path = BenchHandlers.Path(handler, "/orders");
        await ExpectAsync(app, "POST", path, body, key: $"check-{size}", HttpStatusCode.Created, replayed: false, cancellationToken);
        await ExpectAsync(app, "POST", path, body, key: $"check-{size}", HttpStatusCode.Created, replayed: false, cancellationToken);
    }

    private static async Task SeedAsync(BenchAppHost app, int size, BenchHandler handler, byte[] body, CancellationToken cancellationToken)
    {
        var retained = BenchHandlers.Path(handler, "/orders");
        var unique = BenchHandlers.Path(handler, "/orders/unique");
        var seeds = Scenario.SeedPrefix(size, handler);

        // The Redis store connects on its first call; on a busy machine that first call can exceed StoreTimeout and
        // answer 503. Retried here (with fresh keys) so that the seeding below meets an open connection.
        for (var attempt = 0; ; attempt++)
        {
            using var first = await SendAsync(app, "POST", unique, body, $"connect-{seeds}-{attempt}", cancellationToken);
            if (first.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 10)
            {
                break;
            }

            await Task.Delay(500, cancellationToken);
        }

        await Parallel.ForEachAsync(
            Enumerable.Range(0, Scenario.SeededKeys),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (i, token) => await SeedKeyAsync(app, retained, body, $"{seeds}-{i}", token));
        await ExpectAsync(app, "POST", retained, body, $"{seeds}-0", HttpStatusCode.Created, replayed: true, cancellationToken);
        await ExpectAsync(app, "POST", unique, body, $"check-{seeds}", HttpStatusCode.Created, replayed: false, cancellationToken);
        if (BenchModes.WritesToDatabase(app.Mode))
        {
            await ExpectAsync(app, "POST", "/orders/unique-plain", body, $"check-plain-{size}", HttpStatusCode.Created, replayed: false, cancellationToken);
            await ExpectAsync(app, "POST", "/orders/unique-plain", body, $"check-plain-{size}", HttpStatusCode.Created, replayed: true, cancellationToken);
        }
    }

    /// <summary>
    /// Stores one replayable key. On a machine busy enough that a store call outlasts StoreTimeout the app answers 503
    /// (or 409 while an abandoned attempt's lease runs); the key is then retried as a client would retry it, and any
    /// 201, first or replayed, means it is stored.
    /// </summary>
    private static async Task SeedKeyAsync(BenchAppHost app, string path, byte[] body, string key, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var response = await SendAsync(app, "POST", path, body, key, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Created && (attempt > 0 || !response.Headers.Contains("Idempotent-Replayed")))
            {
                return;
            }

            if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.Conflict) || attempt == 20)
            {
                throw new InvalidOperationException(
                    $"{BenchModes.Name(app.Mode)} POST {path} key={key}: expected 201 (attempt {attempt + 1}), got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    private static async Task CheckOutputCacheAsync(BenchAppHost cache, int size, BenchHandler handler, byte[] body, CancellationToken cancellationToken)
    {
        var path = BenchHandlers.Path(handler, $"/orders/{size}");
        await Parallel.ForEachAsync(
            Enumerable.Range(0, Scenario.SeededKeys),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (i, token) => await ExpectAsync(cache, "GET", $"{path}?item={i}", body, key: null, HttpStatusCode.OK, replayed: false, token));
        using var hit = await SendAsync(cache, "GET", $"{path}?item=0", body, key: null, cancellationToken);
        if (!hit.Headers.Contains("Age"))
        {
            throw new InvalidOperationException($"Output caching did not serve GET {path}?item=0 from its store (no Age header).");
        }
    }

    private static async Task ExpectAsync(BenchAppHost app, string method, string path, byte[] body, string? key, HttpStatusCode status, bool replayed, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(app, method, path, body, key, cancellationToken);
        var wasReplayed = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Contains("true");
        if (response.StatusCode != status || wasReplayed != replayed)
        {
            throw new InvalidOperationException(
                $"{BenchModes.Name(app.Mode)} {method} {path} key={key}: expected {(int)status}{(replayed ? " replayed" : string.Empty)}, " +
                $"got {(int)response.StatusCode}{(wasReplayed ? " replayed" : string.Empty)}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(BenchAppHost app, string method, string path, byte[] body, string? key, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method != "GET")
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        var response = await app.Client.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        return response;
    }

    private static string KeyPrefix(string runId, Scenario scenario, string phase)
        => scenario.Keys == KeyKind.Cycle
            ? Scenario.SeedPrefix(scenario.Size, scenario.Handler)
            : $"{runId}-{scenario.Name}-{scenario.Size}-{BenchHandlers.Name(scenario.Handler)}-{phase}";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void Log(string message) => Console.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");
}
