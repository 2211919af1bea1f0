using System.Globalization;
using System.Runtime;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Idempotency.LoadTest.App;

/// <summary>What one host (one mode) served, outside the diagnostics routes: each host of the app has its own.</summary>
public sealed class BenchCounters
{
    private long _requests;
    private long _keyedCreated;

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>
    /// Requests with an <c>Idempotency-Key</c> answered <c>201</c> and not replayed: in a host with a store, the records
    /// written (with 24 h retention none expires during a run); in a baseline, keys it ignored.
    /// </summary>
    public long KeyedCreated => Interlocked.Read(ref _keyedCreated);

    public void Increment(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        if (context.Response.StatusCode == StatusCodes.Status201Created
            && context.Request.Headers.ContainsKey("Idempotency-Key")
            && !context.Response.Headers.ContainsKey("Idempotent-Replayed"))
        {
            Interlocked.Increment(ref _keyedCreated);
        }
    }
}

/// <summary>
/// Counts completed requests in every mode at the same place (and the same way: every host pays the same few header
/// lookups), so allocation and command counts divide by what the app
/// served. Counting on completion rather than arrival keeps requests cut off at the end of a wrk run out of the count.
/// </summary>
public sealed class BenchCountingMiddleware(RequestDelegate next, BenchCounters counters)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments(BenchDiagnostics.Prefix))
        {
            return next(context);
        }

        var task = next(context);
        if (task.IsCompletedSuccessfully)
        {
            counters.Increment(context);
            return Task.CompletedTask;
        }

        return CountWhenDoneAsync(task, context);
    }

    private async Task CountWhenDoneAsync(Task task, HttpContext context)
    {
        await task;
        counters.Increment(context);
    }
}

/// <summary>
/// What the runner reads before and after each scenario: <see cref="Requests"/> and <see cref="KeyedCreated"/> are the
/// host's (the mode's) own; the rest is the process's, which every host of the app shares.
/// </summary>
public sealed record BenchStats(
    long Requests,
    long KeyedCreated,
    long HandlerExecutions,
    long AllocatedBytes,
    long WorkingSetBytes,
    long PeakWorkingSetBytes,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    double GcPauseMilliseconds,
    long ManagedHeapBytes,
    long GcHeapSizeBytes,
    bool ServerGc,
    int ProcessId);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(BenchStats))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>
/// <c>GET /_bench/stats</c> reads allocation and memory counters (served on the host's loopback port only, like every
/// route of the bench app); <c>POST /_bench/collect</c> forces a full compacting collection and reads them after it (the
/// scale run's live heap); <c>POST /_bench/reset-peak</c> resets the kernel's peak
/// resident set (VmHWM) so the peak of one scenario can be read on its own.
/// </summary>
public static class BenchDiagnostics
{
    public const string Prefix = "/_bench";

    public static void Map(WebApplication app)
    {
        app.MapGet(Prefix + "/stats", (BenchCounters counters) => Results.Json(Read(counters), BenchJsonContext.Default.BenchStats));
        app.MapPost(Prefix + "/collect", (BenchCounters counters) =>
        {
            // The scale run's memory per record: a blocking, compacting full collection leaves the live heap only.
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            return Results.Json(Read(counters), BenchJsonContext.Default.BenchStats);
        });
        app.MapPost(Prefix + "/reset-peak", () =>
        {
            // Linux: writing 5 to clear_refs resets VmHWM to the current resident set size (proc(5)).
            File.WriteAllText("/proc/self/clear_refs", "5");
            return Results.NoContent();
        });
    }

    public static BenchStats Read(BenchCounters counters)
    {
        var (rss, hwm) = ReadProcStatus();
        return new BenchStats(
            counters.Requests,
            counters.KeyedCreated,
            OrderHandlers.Executions,
            // Precise: the imprecise count is brought up to date only when a thread's allocation context is refilled
            // or a collection runs, so a scenario that allocates little between two readings (a replay behind the
            // trivial handler, within one gen 0 budget) read 0 bytes per request. The runtime is suspended briefly
            // for it, but stats are read only before and after a measured run, never during one.
            GC.GetTotalAllocatedBytes(precise: true),
            rss,
            hwm,
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            GC.GetTotalPauseDuration().TotalMilliseconds,
            // Bytes in use on the managed heap now (no collection forced), and the heap's size after the last
            // collection: what the in-memory store's records hold, with every host's live objects.
            GC.GetTotalMemory(forceFullCollection: false),
            GC.GetGCMemoryInfo().HeapSizeBytes,
            GCSettings.IsServerGC,
            Environment.ProcessId);
    }

    private static (long Rss, long Hwm) ReadProcStatus()
    {
        long rss = 0, hwm = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = ParseKilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = ParseKilobytes(line);
            }
        }

        return (rss, hwm);
    }

    // "VmHWM:	  123456 kB"
    private static long ParseKilobytes(string line)
        => long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
}
