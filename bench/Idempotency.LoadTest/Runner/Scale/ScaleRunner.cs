using System.Diagnostics;
using System.Globalization;
using System.Net;
using Idempotency.LoadTest.App;
using Idempotency.Testing.Redis;

namespace Idempotency.LoadTest.Runner.Scale;

/// <summary>
/// <c>scale</c>: what the stores cost as records pile up. Fills Redis (through the middleware, first executions with
/// unique keys kept 24 h, driven by wrk) to a hundredth, a tenth and all of <c>--records</c>, and at each checkpoint
/// reads Redis's memory and measures replays of stored keys spread over the whole fill, then first executions. Then
/// fills the in-memory store to its size limit the same way (checkpoints on the way, and at the limit, where it answers
/// 503 store-full), and a second in-memory store that evicts its oldest completed records instead, past its limit.
/// Each store is served by an app process of its own, stopped before the next starts; everything is stopped by PID.
/// Writes <c>scale-latest.json</c> and <c>scale-latest.md</c>.
/// </summary>
public static class ScaleRunner
{
    private const string ResultName = "scale-latest";

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = ScaleSettings.Parse(args);
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
        var luaScript = Path.Combine(AppContext.BaseDirectory, "lua", "scale.lua");
        var wrk = new Wrk(luaScript, settings.Threads, settings.Connections, directory);
        // Two connections: the warm-up, and the fill's last second before a checkpoint (wrk runs whole seconds).
        var slowWrk = new Wrk(luaScript, threads: 1, connections: 2, directory);
        var body = OrderHandlers.CreateRequestBody(settings.Size);
        var bodyFile = Path.Combine(directory.Path, $"body-{settings.Size}.json");
        await File.WriteAllBytesAsync(bodyFile, body, cancellationToken);

        var busyBefore = await MachineInfo.MeasureCpuBusyAsync(TimeSpan.FromSeconds(3), cancellationToken);
        Log($"machine: {MachineInfo.Describe()}; load average {loadAverage?.ToString(CultureInfo.InvariantCulture) ?? "?"}; cores busy before the run {busyBefore?.ToString("P0", CultureInfo.InvariantCulture) ?? "?"}");
        Log(Invariant($"scale run: Redis to {settings.Records} records (checkpoints {string.Join(", ", settings.Checkpoints)}), in-memory store to its limit of {settings.EffectiveMemoryLimitBytes / 1048576.0:F1} MiB; {BenchHandlers.Name(settings.Handler)} handler, {settings.Size} B bodies, wrk -t{settings.Threads} -c{settings.Connections}; work dir {directory.Path}"));

        var phases = new List<ScalePhase>();
        var complete = false;
        var failed = false;
        try
        {
            var maxSeconds = (int)settings.MaxTime.TotalSeconds + 60;
            if (settings.Redis)
            {
                var phase = new ScalePhase("redis", memoryLimitBytes: null);
                phases.Add(phase);
                await using var redis = await RedisServer.StartAsync(directory, cancellationToken);
                Log($"redis-server pid {redis.ProcessId} on {redis.Configuration}");
                await using var app = await BenchAppProcess.StartAsync("scale-redis", [BenchMode.Redis], redis.Configuration, _ => null, maxSeconds, directory, cancellationToken);
                Log($"app pid {app.ProcessId}: redis on {app.Hosts[0].BaseAddress}");
                var context = new PhaseContext(settings, wrk, slowWrk, app.Hosts[0], redis, bodyFile, body, directory, wall, phase);
                await context.RunAsync(settings.Checkpoints, untilLimit: false, cancellationToken);
            }

            if (settings.Memory)
            {
                var phase = await RunMemoryPhaseAsync(settings, wrk, slowWrk, bodyFile, body, directory, wall, evict: false, maxSeconds, phases, cancellationToken);
                if (settings.MemoryEvict && phase.RecordsAtLimit is { } atLimit)
                {
                    // Past the limit by a fifth: every first execution there evicts the oldest completed record.
                    await RunMemoryPhaseAsync(settings, wrk, slowWrk, bodyFile, body, directory, wall, evict: true, maxSeconds, phases, cancellationToken, atLimit + (atLimit / 5), atLimit);
                }
            }

            complete = true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Log($"cancelled after {wall.Elapsed.TotalSeconds:F0} s (--max-minutes {settings.MaxTime.TotalMinutes} or Ctrl+C): writing what was measured, marked incomplete");
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"scale run failed after {wall.Elapsed.TotalSeconds:F1} s: {ex}");
            failed = true;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var command = Environment.GetEnvironmentVariable("BENCH_COMMAND") is { Length: > 0 } script ? script : "Idempotency.LoadTest scale " + string.Join(' ', args);
        var report = new ScaleReport(settings, MachineInfo.Describe(), command, busyBefore, loadAverage, MachineInfo.LoadAverage(), phases, complete, wall.Elapsed);
        Directory.CreateDirectory(settings.OutputDirectory);
        var json = report.ToJson();
        var markdown = report.ToMarkdown();
        await File.WriteAllTextAsync(Path.Combine(settings.OutputDirectory, ResultName + ".json"), json, CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(settings.OutputDirectory, ResultName + ".md"), markdown, CancellationToken.None);
        if (settings.KeepDatedCopy && complete)
        {
            var stamp = DateTime.UtcNow.ToString("yyyy-MM-dd-HHmm", CultureInfo.InvariantCulture);
            await File.WriteAllTextAsync(Path.Combine(settings.OutputDirectory, $"scale-run-{stamp}Z.json"), json, CancellationToken.None);
            await File.WriteAllTextAsync(Path.Combine(settings.OutputDirectory, $"scale-run-{stamp}Z.md"), markdown, CancellationToken.None);
        }

        Console.WriteLine();
        Console.WriteLine(markdown);
        Log($"wrote {Path.Combine(settings.OutputDirectory, ResultName)}.json and .md; wall time {wall.Elapsed.TotalSeconds:F1} s (builds excluded)");
        return failed ? 1 : complete ? 0 : 3;
    }

    private static async Task<ScalePhase> RunMemoryPhaseAsync(
        ScaleSettings settings, Wrk wrk, Wrk slowWrk, string bodyFile, byte[] body, RunDirectory directory, Stopwatch wall, bool evict, int maxSeconds, List<ScalePhase> phases,
        CancellationToken cancellationToken, long? pastLimit = null, long? heldAtLimit = null)
    {
        var limit = settings.EffectiveMemoryLimitBytes;
        var phase = new ScalePhase(evict ? "memory_evict" : "memory", limit);
        phases.Add(phase);
        string[] options = ["--memory-limit-bytes", limit.ToString(CultureInfo.InvariantCulture), "--memory-evict", evict ? "true" : "false"];
        await using var app = await BenchAppProcess.StartAsync("scale-" + phase.Name.Replace('_', '-'), [BenchMode.Memory], redis: null, _ => null, maxSeconds, directory, cancellationToken, options);
        Log($"app pid {app.ProcessId}: memory on {app.Hosts[0].BaseAddress}, SizeLimitBytes {limit}, EvictLiveRecordsWhenFull {evict}");
        var context = new PhaseContext(settings, wrk, slowWrk, app.Hosts[0], redis: null, bodyFile, body, directory, wall, phase);
        if (pastLimit is { } target)
        {
            phase.RecordsHeldAtLimit = heldAtLimit;
            await context.RunAsync([target], untilLimit: false, cancellationToken, lastLabel: "past-limit");
        }
        else
        {
            // More checkpoints than Redis's on the way to the limit (the heap's curve), as many as come before it.
            await context.RunAsync([settings.Records / 100, settings.Records / 10, settings.Records / 2, settings.Records], untilLimit: true, cancellationToken);
        }

        return phase;
    }

    internal static void Log(string message) => Console.WriteLine($"[scale {DateTime.Now:HH:mm:ss}] {message}");

    internal static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>One phase's app, store and fill.</summary>
    private sealed class PhaseContext(
        ScaleSettings settings, Wrk wrk, Wrk slowWrk, BenchAppHost app, RedisServer? redis, string bodyFile, byte[] body, RunDirectory directory, Stopwatch wall, ScalePhase phase)
    {
        private readonly string _path = BenchHandlers.Path(settings.Handler, "/orders/unique");
        private int _windows;

        /// <summary>
        /// Warms up, then fills to each target in turn and measures a checkpoint there. With <paramref name="untilLimit"/>
        /// (the in-memory store that refuses at its limit) a window that was refused ends the fill, and the checkpoint
        /// then is <c>limit</c>; the fill goes on past the last target until then. <paramref name="lastLabel"/> names the
        /// last target's checkpoint (else its number).
        /// </summary>
        public async Task RunAsync(IReadOnlyList<long> targets, bool untilLimit, CancellationToken cancellationToken, string? lastLabel = null)
        {
            await WarmUpAsync(cancellationToken);
            var records = await CountRecordsAsync(cancellationToken);
            // The fill's rate, first guessed from the warm-up's (two connections reach about half of it), then measured.
            var rate = 2 * phase.Windows[^1].Wrk.RequestsPerSecond;
            var allTargets = untilLimit ? [.. targets, long.MaxValue] : targets;
            for (var i = 0; i < allTargets.Count; i++)
            {
                // A target the warm-up or the previous checkpoint's first executions passed (a scaled-down run's) is left out.
                var target = allTargets[i];
                if (target <= records)
                {
                    Log(Invariant($"{phase.Name}: {records} records already, past the checkpoint at {target}: not measured"));
                    continue;
                }

                var atLimit = false;
                while (records < target)
                {
                    if (target == long.MaxValue && records > 4 * settings.Records)
                    {
                        Log(Invariant($"{phase.Name}: {records} records and the store has refused none; the limit is not reached (stopping the fill)"));
                        return;
                    }

                    // Windows sized to land near the target (at half again the last rate, which varies on a shared machine),
                    // as long as --window-seconds at most: records are sampled between them. wrk runs whole seconds, so
                    // less than a second's fill from the target, a second at two connections lands closer.
                    var remaining = target - records;
                    var slow = remaining < rate;
                    var seconds = slow ? 1 : (int)Math.Clamp(remaining / (rate * 1.5), 1, settings.MaxWindow.TotalSeconds);
                    var window = await RunWrkAsync("fill", KeyKind.Unique, $"{phase.Name}-f{_windows++}", TimeSpan.FromSeconds(seconds), cancellationToken, fewConnections: slow);
                    phase.Windows.Add(window);
                    rate = slow ? rate : Math.Max(window.Wrk.RequestsPerSecond, 1);
                    records = window.RecordsAfter;
                    LogWindow(window);
                    if (untilLimit && window.Wrk.StatusErrors > 0)
                    {
                        phase.RecordsAtLimit = records;
                        atLimit = true;
                        break;
                    }
                }

                var label = atLimit ? "limit" : lastLabel is not null && i == allTargets.Count - 1 ? lastLabel : target.ToString(CultureInfo.InvariantCulture);
                var first = await CheckpointAsync(label, cancellationToken);
                records = await CountRecordsAsync(cancellationToken);
                rate = Math.Max(first.Wrk.RequestsPerSecond, 1);
                if (atLimit)
                {
                    return;
                }

                if (untilLimit && first.Wrk.StatusErrors > 0)
                {
                    // The checkpoint's own first executions reached the limit: the store is full now, measured as such.
                    phase.RecordsAtLimit = records;
                    await CheckpointAsync("limit", cancellationToken);
                    return;
                }
            }
        }

        /// <summary>
        /// Connects the store (the Redis store's first call may time out on a busy machine: 503, retried), runs both paths
        /// for a second each so they are compiled and tiered up, and checks that the key scheme holds: every replay of a
        /// key the warm-up stored must replay, not execute. Then reads the baseline the per-record figures count from.
        /// </summary>
        private async Task WarmUpAsync(CancellationToken cancellationToken)
        {
            for (var attempt = 0; ; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, _path) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                request.Headers.TryAddWithoutValidation("Idempotency-Key", $"{phase.Name}-connect-{attempt}");
                using var response = await app.Client.SendAsync(request, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    break;
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 20)
                {
                    throw new InvalidOperationException($"{phase.Name}: POST {_path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                }

                await Task.Delay(500, cancellationToken);
            }

            // Two connections for a second: enough requests to compile and tier up both paths, few enough records to
            // leave the first checkpoint (10 k in the default run) ahead.
            var warm = await RunWrkAsync("fill", KeyKind.Unique, $"{phase.Name}-warm", TimeSpan.FromSeconds(1), cancellationToken, fewConnections: true);
            phase.Windows.Add(warm);
            LogWindow(warm);
            var replay = await ReplayAsync(TimeSpan.FromSeconds(1), cancellationToken)
                ?? throw new InvalidOperationException($"{phase.Name}: the warm-up stored no key to replay ({warm.Wrk.Requests} requests, {warm.Wrk.StatusErrors} non-2xx).");
            if (replay.HandlerExecutions > 0 || replay.AppRequests == 0 || replay.Wrk.StatusErrors > 0)
            {
                throw new InvalidOperationException(Invariant(
                    $"{phase.Name}: replays of {replay.ReplayKeys} keys the warm-up stored ran the handler {replay.HandlerExecutions} times or failed ({replay.Wrk.StatusErrors} non-2xx): the scale run's key scheme does not match what was stored."));
            }

            phase.BaselineRecords = await CountRecordsAsync(cancellationToken);
            phase.BaselineMemoryBytes = redis is not null
                ? (await redis.ReadMemoryAsync(cancellationToken)).UsedMemory
                : (await CollectAsync(cancellationToken)).ManagedHeapBytes;
            Log(Invariant($"{phase.Name}: warmed up; replays verified ({replay.Wrk.RequestsPerSecond:F0} req/s, no execution); baseline {phase.BaselineRecords} records, {phase.BaselineMemoryBytes / 1048576.0:F1} MiB"));
        }

        /// <summary>Measures a checkpoint and returns its first executions.</summary>
        private async Task<ScaleMeasurement> CheckpointAsync(string label, CancellationToken cancellationToken)
        {
            var records = await CountRecordsAsync(cancellationToken);
            long? usedMemory = null, liveHeap = null, workingSet = null;
            List<long>? samples = null;
            if (redis is not null)
            {
                usedMemory = (await redis.ReadMemoryAsync(cancellationToken)).UsedMemory;
                samples = await SampleMemoryUsageAsync(redis, settings.MemoryUsageSamples, cancellationToken);
            }
            else
            {
                var stats = await CollectAsync(cancellationToken);
                liveHeap = stats.ManagedHeapBytes;
                workingSet = stats.WorkingSetBytes;
            }

            var replay = await ReplayAsync(settings.MeasureDuration, cancellationToken);
            var first = await RunWrkAsync("first", KeyKind.Unique, $"{phase.Name}-c{phase.Checkpoints.Count}", settings.MeasureDuration, cancellationToken);
            phase.Windows.Add(first);
            var checkpoint = new ScaleCheckpoint(label, records, Math.Round(wall.Elapsed.TotalSeconds, 1), usedMemory, samples, liveHeap, workingSet, replay, first);
            phase.Checkpoints.Add(checkpoint);
            var memory = redis is not null
                ? Invariant($"used_memory {usedMemory / 1048576.0:F1} MiB ({phase.BytesPerRecord(records, usedMemory):F0} B/record), MEMORY USAGE median {Median(samples!):F0} B")
                : Invariant($"live heap {liveHeap / 1048576.0:F1} MiB ({phase.BytesPerRecord(records, liveHeap):F0} B/record)");
            Log(Invariant($"{phase.Name} checkpoint {label}: {records} records; {memory}; replay {replay?.Wrk.RequestsPerSecond:F0} req/s (keys executed {replay?.ReplayKeysExecuted:P0}, non-2xx {replay?.Wrk.StatusErrors}); first {first.Wrk.RequestsPerSecond:F0} req/s (non-2xx {first.Wrk.StatusErrors}, GC pause {first.GcPauseMilliseconds:F0} ms, gen2 {first.Gen2Collections})"));
            return first;
        }

        /// <summary>Replays of stored keys drawn at random from every clean window so far (the whole fill, not the newest keys).</summary>
        private async Task<ScaleMeasurement?> ReplayAsync(TimeSpan duration, CancellationToken cancellationToken)
        {
            var keys = StoredKeys(settings.ReplayKeys, new Random(phase.Checkpoints.Count + 1));
            if (keys.Count == 0)
            {
                return null;
            }

            var file = Path.Combine(directory.Path, $"replay-{phase.Name}-{phase.Checkpoints.Count}.keys");
            await File.WriteAllLinesAsync(file, keys, cancellationToken);
            return await RunWrkAsync("replay", KeyKind.Cycle, file, duration, cancellationToken, replayKeys: keys.Count);
        }

        /// <summary>
        /// Keys certainly stored: wrk's <c>unique</c> keys are <c>prefix-thread-n</c>, n from 1 per thread; of a window whose
        /// every answer was 2xx, all but the last <c>connections</c> a thread sent were answered (those may have been in
        /// flight when wrk stopped), so n up to <c>requests / threads - connections</c> is stored.
        /// </summary>
        private List<string> StoredKeys(int count, Random random)
        {
            var windows = new List<(string Prefix, long PerThread)>();
            long total = 0;
            foreach (var window in phase.Windows)
            {
                var perThread = (window.Wrk.Requests / settings.Threads) - settings.Connections;
                if (window.Clean && perThread > 0)
                {
                    windows.Add((window.KeySource, perThread));
                    total += perThread * settings.Threads;
                }
            }

            var keys = new HashSet<string>(StringComparer.Ordinal);
            for (var attempt = 0; keys.Count < Math.Min(count, total) && attempt < count * 20; attempt++)
            {
                var index = random.NextInt64(total);
                foreach (var (prefix, perThread) in windows)
                {
                    var size = perThread * settings.Threads;
                    if (index < size)
                    {
                        keys.Add(Invariant($"{prefix}-{index % settings.Threads}-{(index / settings.Threads) + 1}"));
                        break;
                    }

                    index -= size;
                }
            }

            return [.. keys];
        }

        private async Task<ScaleMeasurement> RunWrkAsync(
            string kind, KeyKind keys, string keySource, TimeSpan duration, CancellationToken cancellationToken, int replayKeys = 0, bool fewConnections = false)
        {
            var scenario = new Scenario("scale_" + kind, app.Mode, settings.Size, "POST", _path, keys, Baseline: string.Empty, settings.Handler);
            var recordsBefore = await CountRecordsAsync(cancellationToken);
            var before = await app.ReadStatsAsync(cancellationToken);
            var cpuBefore = CpuUse.Read(app.ProcessId, redis is null ? null : CpuTicks.OfProcess(redis.ProcessId));
            var result = await (fewConnections ? slowWrk : wrk).RunAsync(app.BaseAddress, scenario, bodyFile, keySource, duration, cancellationToken);
            var cpu = CpuUse.Read(app.ProcessId, redis is null ? null : CpuTicks.OfProcess(redis.ProcessId)).Since(cpuBefore);

            // Requests wrk left in flight finish within a moment; then the counters are stable.
            await Task.Delay(200, cancellationToken);
            var after = await app.ReadStatsAsync(cancellationToken);
            return new ScaleMeasurement(
                kind,
                keySource,
                replayKeys,
                recordsBefore,
                await CountRecordsAsync(cancellationToken),
                result,
                after.Requests - before.Requests,
                after.HandlerExecutions - before.HandlerExecutions,
                cpu.AppTicks,
                cpu.ServerTicks,
                after.Gen0Collections - before.Gen0Collections,
                after.Gen1Collections - before.Gen1Collections,
                after.Gen2Collections - before.Gen2Collections,
                after.GcPauseMilliseconds - before.GcPauseMilliseconds,
                Math.Round(wall.Elapsed.TotalSeconds, 1));
        }

        /// <summary>Redis: its key count (the phase's Redis holds its records only). Memory: the records the mode wrote (201, not replayed).</summary>
        private async Task<long> CountRecordsAsync(CancellationToken cancellationToken)
            => redis is not null
                ? (await redis.ReadMemoryAsync(cancellationToken)).Keys
                : (await app.ReadStatsAsync(cancellationToken)).KeyedCreated;

        private async Task<BenchStats> CollectAsync(CancellationToken cancellationToken)
        {
            using var response = await app.Client.PostAsync("/_bench/collect", content: null, cancellationToken);
            response.EnsureSuccessStatusCode();
            return await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync(response.Content, BenchJsonContext.Default.BenchStats, cancellationToken)
                ?? throw new InvalidDataException("The collect endpoint answered null.");
        }

        private void LogWindow(ScaleMeasurement window)
            => Log(Invariant($"  {phase.Name} {window.Kind,-5} {window.KeySource,-22} {window.RecordsBefore,9} -> {window.RecordsAfter,9} records  {window.Wrk.RequestsPerSecond,7:F0} req/s  non-2xx {window.Wrk.StatusErrors}  GC pause {window.GcPauseMilliseconds,6:F0} ms  gen2 {window.Gen2Collections}"));
    }

    /// <summary><c>MEMORY USAGE key SAMPLES 0</c> (every field counted) of keys <c>RANDOMKEY</c> picks.</summary>
    private static async Task<List<long>> SampleMemoryUsageAsync(RedisServer redis, int count, CancellationToken cancellationToken)
    {
        var samples = new List<long>(count);
        for (var i = 0; i < count; i++)
        {
            if (await Resp.ExecuteAsync(redis.Port, "RANDOMKEY").WaitAsync(cancellationToken) is string key
                && await Resp.ExecuteAsync(redis.Port, "MEMORY", "USAGE", key, "SAMPLES", "0").WaitAsync(cancellationToken) is long bytes)
            {
                samples.Add(bytes);
            }
        }

        return samples;
    }

    internal static double? Median(IReadOnlyList<long> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2.0;
    }
}
