using System.Globalization;
using System.Runtime;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Idempotency.LoadTest.App;

/// <summary>Requests served, outside the diagnostics routes.</summary>
public sealed class BenchCounters
{
    private long _requests;

    public long Requests => Interlocked.Read(ref _requests);

    public void Increment() => Interlocked.Increment(ref _requests);
}

/// <summary>
/// Counts completed requests in every mode at the same place, so allocation and command counts divide by what the app
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
            counters.Increment();
            return Task.CompletedTask;
        }

        return CountWhenDoneAsync(task);
    }

    private async Task CountWhenDoneAsync(Task task)
    {
        await task;
        counters.Increment();
    }
}

/// <summary>What the runner reads before and after each scenario.</summary>
public sealed record BenchStats(
    long Requests,
    long HandlerExecutions,
    long AllocatedBytes,
    long WorkingSetBytes,
    long PeakWorkingSetBytes,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    double GcPauseMilliseconds,
    bool ServerGc,
    int ProcessId);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(BenchStats))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>
/// <c>GET /_bench/stats</c> reads allocation and memory counters; <c>POST /_bench/reset-peak</c> resets the kernel's peak
/// resident set (VmHWM) so the peak of one scenario can be read on its own.
/// </summary>
public static class BenchDiagnostics
{
    public const string Prefix = "/_bench";

    public static void Map(WebApplication app)
    {
        app.MapGet(Prefix + "/stats", (BenchCounters counters) => Results.Json(Read(counters), BenchJsonContext.Default.BenchStats));
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
            OrderHandlers.Executions,
            // Not precise: the bytes left in each thread's allocation context (a few KiB) are missing, which is noise
            // against the hundreds of megabytes a scenario allocates, and the precise form would suspend the runtime.
            GC.GetTotalAllocatedBytes(precise: false),
            rss,
            hwm,
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            GC.GetTotalPauseDuration().TotalMilliseconds,
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
