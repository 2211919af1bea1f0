using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Idempotency.LoadTest.App;

namespace Idempotency.LoadTest.Runner.Scale;

/// <summary><c>scale-latest.json</c> and <c>scale-latest.md</c>: the scale run's checkpoints and fill, per store.</summary>
public sealed class ScaleReport(
    ScaleSettings settings, string machine, string command, double? busyBefore, double? loadAtStart, double? loadAtEnd,
    IReadOnlyList<ScalePhase> phases, bool complete, TimeSpan wall)
{
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["label"] = settings.Label,
            ["machine"] = machine,
            ["command"] = command,
            ["complete"] = complete,
            ["cpu_busy_before_start"] = busyBefore is { } busy ? Math.Round(busy, 3) : null,
            ["load_average_at_start"] = loadAtStart,
            ["load_average_at_end"] = loadAtEnd,
            ["wall_seconds"] = Math.Round(wall.TotalSeconds, 1),
            ["settings"] = new JsonObject
            {
                ["records"] = settings.Records,
                ["redis_checkpoints"] = new JsonArray([.. settings.Checkpoints.Select(c => (JsonNode)c)]),
                ["handler"] = BenchHandlers.Name(settings.Handler),
                ["body_bytes"] = settings.Size,
                ["retention_hours"] = BenchServer.UniqueRetention.TotalHours,
                ["threads"] = settings.Threads,
                ["connections"] = settings.Connections,
                ["measure_seconds"] = settings.MeasureDuration.TotalSeconds,
                ["max_window_seconds"] = settings.MaxWindow.TotalSeconds,
                ["replay_keys"] = settings.ReplayKeys,
                ["memory_usage_samples"] = settings.MemoryUsageSamples,
                ["memory_limit_bytes"] = settings.EffectiveMemoryLimitBytes,
            },
        };
        foreach (var phase in phases)
        {
            root[phase.Name] = Phase(phase);
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine("# Scale run: cost as records grow");
        md.AppendLine();
        if (settings.Label.Length > 0)
        {
            md.AppendLine(Invariant($"> {settings.Label}")).AppendLine();
        }

        md.AppendLine(Invariant($"- Machine: {machine}; cores busy in the 3 s before the run: {busyBefore?.ToString("P0", CultureInfo.InvariantCulture) ?? "?"}; load average {loadAtStart?.ToString(CultureInfo.InvariantCulture) ?? "?"} at the start, {loadAtEnd?.ToString(CultureInfo.InvariantCulture) ?? "?"} at the end"));
        md.AppendLine(Invariant($"- Command: `{command}`; wall time {wall.TotalMinutes:F1} min (builds excluded){(complete ? string.Empty : "; **incomplete: cancelled or failed, figures so far**")}"));
        md.AppendLine(Invariant($"- {BenchHandlers.Name(settings.Handler)} handler, {settings.Size} B request bodies, unique keys kept {BenchServer.UniqueRetention.TotalHours:F0} h; wrk -t{settings.Threads} -c{settings.Connections}; each checkpoint: {settings.MeasureDuration.TotalSeconds:F0} s of replays of {settings.ReplayKeys} stored keys drawn from the whole fill, then {settings.MeasureDuration.TotalSeconds:F0} s of first executions"));
        md.AppendLine();
        foreach (var phase in phases)
        {
            if (phase.Name == "redis")
            {
                RedisSection(md, phase);
            }
            else
            {
                MemorySection(md, phase);
            }
        }

        return md.ToString();
    }

    private static void RedisSection(StringBuilder md, ScalePhase phase)
    {
        md.AppendLine("## Redis");
        md.AppendLine();
        md.AppendLine(Invariant($"Bytes per record: `used_memory` above its value after the warm-up ({phase.BaselineRecords} records, {phase.BaselineMemoryBytes / 1048576.0:F1} MiB), divided by the records added; `MEMORY USAGE` of random keys (median, min to max)."));
        md.AppendLine();
        md.AppendLine("| checkpoint | records | used_memory | B/record | MEMORY USAGE B | replay req/s | replay keys executed | first req/s | first p99 ms | first app + Redis CPU µs/req | fill req/s since last |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        long previous = phase.BaselineRecords;
        foreach (var c in phase.Checkpoints)
        {
            var usage = c.RedisMemoryUsageSamples is { Count: > 0 } samples ? Invariant($"{ScaleRunner.Median(samples):F0} ({samples.Min()} to {samples.Max()})") : "-";
            md.AppendLine(Invariant(
                $"| {c.Label} | {c.Records:N0} | {c.RedisUsedMemoryBytes / 1048576.0:F1} MiB | {phase.BytesPerRecord(c.Records, c.RedisUsedMemoryBytes):F0} | {usage} | {Rps(c.Replay)} | {c.Replay?.ReplayKeysExecuted:P0} | {Rps(c.First)} | {c.First.Wrk.LatencyP99 / 1000.0:F1} | {Cpu(c.First)} | {FillRate(phase, previous, c.Records)} |"));
            previous = c.Records;
        }

        md.AppendLine();
    }

    private static void MemorySection(StringBuilder md, ScalePhase phase)
    {
        var evict = phase.Name == "memory_evict";
        md.AppendLine(evict ? "## In-memory store, evicting at its limit" : "## In-memory store at its size limit");
        md.AppendLine();
        md.AppendLine(Invariant($"`SizeLimitBytes` {phase.MemoryLimitBytes / 1048576.0:F1} MiB (and the one scope's quota), `EvictLiveRecordsWhenFull` {(evict ? "on: a full store evicts its oldest completed records" : "off (the default): a full store answers `503 idempotency-store-full`")}. Records: keyed requests the app answered 201 without replaying{(evict ? " (evicted ones included)" : string.Empty)}. Live heap: the app's managed heap after a forced full compacting collection; B/record counts from the warm-up ({phase.BaselineRecords} records, {phase.BaselineMemoryBytes / 1048576.0:F1} MiB)."));
        if (evict)
        {
            md.AppendLine();
            md.AppendLine(Invariant($"Filled past the refusing store's limit (to a fifth past it, or a fill window beyond). The store then holds about the records that fit ({phase.RecordsHeldAtLimit:N0}, as the refusing store did); the records written beyond them were evicted, oldest first, and heap B/record counts the records held. A replay key that executed had its record evicted: its retry ran the operation again."));
        }
        else
        {
            md.AppendLine();
            md.AppendLine(phase.RecordsAtLimit is { } atLimit
                ? Invariant($"The store refused its first record at {atLimit:N0} records: {phase.MemoryLimitBytes / (double)atLimit:F0} bytes per record by its own accounting. Fractions below are records / records at the limit.")
                : "The store did not reach its limit.");
        }

        md.AppendLine();
        md.AppendLine(Invariant($"| checkpoint | records{(evict ? " written (evicted)" : string.Empty)} | of limit | live heap | heap B/record | working set | replay req/s | replay keys executed | first req/s | first non-2xx | first GC pause ms (share) | first gen0/1/2 | fill req/s since last |"));
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        long previous = phase.BaselineRecords;
        foreach (var c in phase.Checkpoints)
        {
            var fraction = phase.RecordsAtLimit is { } limit && !evict ? Invariant($"{(double)c.Records / limit:P0}") : "-";
            md.AppendLine(Invariant(
                $"| {c.Label} | {c.Records:N0}{(phase.Evicted(c.Records) is { } evicted ? Invariant($" ({evicted:N0})") : string.Empty)} | {fraction} | {c.LiveHeapBytes / 1048576.0:F1} MiB | {phase.BytesPerRecord(c.Records, c.LiveHeapBytes):F0} | {c.WorkingSetBytes / 1048576.0:F0} MiB | {Rps(c.Replay)} | {c.Replay?.ReplayKeysExecuted:P0} | {Rps(c.First)} | {NonSuccessShare(c.First):P1} | {c.First.GcPauseMilliseconds:F0} ({c.First.PauseShare:P1}) | {c.First.Gen0Collections}/{c.First.Gen1Collections}/{c.First.Gen2Collections} | {FillRate(phase, previous, c.Records)} |"));
            previous = c.Records;
        }

        md.AppendLine();
        var fill = phase.Windows.Where(w => w.Kind == "fill").ToArray();
        if (fill.Length > 0)
        {
            var seconds = fill.Sum(w => w.Seconds);
            var pause = fill.Sum(w => w.GcPauseMilliseconds);
            var worst = fill.MaxBy(w => w.PauseShare)!;
            md.AppendLine(Invariant(
                $"GC over the fill: {pause:F0} ms paused in {seconds:F0} s ({pause / 1000 / seconds:P1}), {fill.Sum(w => w.Gen2Collections)} gen 2 collections; the worst window {worst.PauseShare:P1} paused ({worst.GcPauseMilliseconds:F0} ms in {worst.Seconds:F0} s, {worst.RecordsBefore:N0} to {worst.RecordsAfter:N0} records)."));
            md.AppendLine();
        }
    }

    private static JsonObject Phase(ScalePhase phase)
    {
        var redis = phase.Name == "redis";
        return new JsonObject
        {
            ["baseline_records"] = phase.BaselineRecords,
            [redis ? "baseline_used_memory_bytes" : "baseline_live_heap_bytes"] = phase.BaselineMemoryBytes,
            ["memory_limit_bytes"] = phase.MemoryLimitBytes,
            ["evict_live_records_when_full"] = redis ? null : phase.Name == "memory_evict",
            ["records_at_limit"] = phase.RecordsAtLimit,
            ["records_held_at_limit"] = phase.RecordsHeldAtLimit,
            ["accounted_bytes_per_record"] = phase.RecordsAtLimit is { } atLimit ? Math.Round((double)phase.MemoryLimitBytes!.Value / atLimit, 1) : null,
            ["checkpoints"] = new JsonArray([.. phase.Checkpoints.Select(c => (JsonNode)new JsonObject
            {
                ["label"] = c.Label,
                ["records"] = c.Records,
                ["elapsed_seconds"] = c.ElapsedSeconds,
                ["fraction_of_limit"] = phase.RecordsAtLimit is { } limit && phase.Name == "memory" ? Math.Round((double)c.Records / limit, 3) : null,
                ["redis_used_memory_bytes"] = c.RedisUsedMemoryBytes,
                ["redis_memory_usage_bytes"] = c.RedisMemoryUsageSamples is { Count: > 0 } s
                    ? new JsonObject { ["median"] = ScaleRunner.Median(s), ["min"] = s.Min(), ["max"] = s.Max(), ["samples"] = s.Count }
                    : null,
                ["live_heap_bytes"] = c.LiveHeapBytes,
                ["working_set_bytes"] = c.WorkingSetBytes,
                ["bytes_per_record"] = Round(phase.BytesPerRecord(c.Records, c.RedisUsedMemoryBytes ?? c.LiveHeapBytes), 1),
                ["records_evicted"] = phase.Evicted(c.Records),
                ["replay"] = c.Replay is null ? null : Measurement(c.Replay),
                ["first"] = Measurement(c.First),
            })]),
            ["windows"] = new JsonArray([.. phase.Windows.Select(w => (JsonNode)Measurement(w))]),
        };
    }

    private static JsonObject Measurement(ScaleMeasurement m) => new()
    {
        ["kind"] = m.Kind,
        ["records_before"] = m.RecordsBefore,
        ["records_after"] = m.RecordsAfter,
        ["elapsed_seconds"] = m.ElapsedSeconds,
        ["seconds"] = Math.Round(m.Seconds, 2),
        ["requests"] = m.Wrk.Requests,
        ["requests_per_second"] = Math.Round(m.Wrk.RequestsPerSecond, 1),
        ["non_2xx"] = m.Wrk.StatusErrors,
        ["socket_errors"] = m.Wrk.SocketErrors,
        ["latency_p50_us"] = m.Wrk.LatencyP50,
        ["latency_p99_us"] = m.Wrk.LatencyP99,
        ["latency_max_us"] = m.Wrk.LatencyMax,
        ["handler_executions_per_request"] = Round(m.ExecutionsPerRequest, 4),
        ["replay_keys"] = m.ReplayKeys > 0 ? m.ReplayKeys : null,
        ["replay_keys_executed"] = Round(m.ReplayKeysExecuted, 4),
        ["app_cpu_us_per_request"] = Round(m.AppCpuMicrosecondsPerRequest, 1),
        ["redis_cpu_us_per_request"] = Round(m.ServerCpuMicrosecondsPerRequest, 1),
        ["gc"] = new JsonObject
        {
            ["gen0"] = m.Gen0Collections,
            ["gen1"] = m.Gen1Collections,
            ["gen2"] = m.Gen2Collections,
            ["pause_ms"] = Math.Round(m.GcPauseMilliseconds, 1),
            ["pause_share"] = Math.Round(m.PauseShare, 4),
        },
    };

    /// <summary>Mean first-execution rate of the fill windows between two checkpoints (weighted by their time).</summary>
    private static string FillRate(ScalePhase phase, long from, long to)
    {
        var windows = phase.Windows.Where(w => w.Kind == "fill" && w.RecordsBefore >= from && w.RecordsAfter <= to).ToArray();
        var seconds = windows.Sum(w => w.Seconds);
        return seconds > 0 ? Invariant($"{windows.Sum(w => w.Wrk.Requests) / seconds:F0}") : "-";
    }

    private static string Rps(ScaleMeasurement? m) => m is null ? "-" : Invariant($"{m.Wrk.RequestsPerSecond:F0}");

    private static string Cpu(ScaleMeasurement m)
        => m.AppCpuMicrosecondsPerRequest is { } app ? Invariant($"{app:F0} + {m.ServerCpuMicrosecondsPerRequest:F0}") : "-";

    private static double NonSuccessShare(ScaleMeasurement m) => m.Wrk.Requests > 0 ? (double)m.Wrk.StatusErrors / m.Wrk.Requests : 0;

    private static double? Round(double? value, int digits) => value is { } v ? Math.Round(v, digits) : null;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
