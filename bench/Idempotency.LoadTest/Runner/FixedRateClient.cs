using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace Idempotency.LoadTest.Runner;

/// <summary>Latency percentiles at a fixed arrival rate.</summary>
public sealed record LatencyResult(
    string Scenario,
    int Size,
    int Rate,
    int Sent,
    int Succeeded,
    int Failed,
    double AchievedRate,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double MaxClientLatenessMs);

/// <summary>
/// An open-loop load client: request <c>i</c> is due at <c>start + i / rate</c> and is sent then whether or not earlier
/// requests have been answered, so a slow server meets a growing queue instead of a politely waiting client (wrk's
/// closed loop hides such stalls: coordinated omission). Bounded in count (rate × duration) and time (10 s per request).
/// </summary>
/// <remarks>
/// Latency runs from the call to <see cref="HttpClient.SendAsync(HttpRequestMessage, CancellationToken)"/> to the last
/// byte of the response, so it includes waiting for a pooled connection when all 128 are busy. The client's own timer
/// lateness (how late a request left against its schedule; it sleeps on timers of about 1 ms resolution) is reported separately and
/// not counted, so sub-millisecond server latencies are not drowned by the scheduler.
/// </remarks>
public static class FixedRateClient
{
    public static async Task<LatencyResult> RunAsync(
        Uri baseAddress, Scenario scenario, byte[] body, string keyPrefix, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = 128,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var total = Math.Max(1, (int)(rate * duration.TotalSeconds));
        var latencies = new long[total];
        var lateness = new long[total];
        var tasks = new Task[total];
        var start = Stopwatch.GetTimestamp();
        var frequency = Stopwatch.Frequency;

        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i * (double)frequency / rate);
            var wait = due - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                // No spinning: on two cores a spinning client would take the server's CPU. Requests due within one
                // timer tick leave together; the rate over any few milliseconds is still the fixed one.
                await Task.Delay(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, wait * TimeSpan.TicksPerSecond / frequency)), cancellationToken);
            }

            var index = i;
            lateness[index] = Stopwatch.GetTimestamp() - due;
            tasks[index] = SendAsync(client, scenario, body, keyPrefix, index, latencies, cancellationToken);
        }

        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var succeeded = latencies.Where(l => l >= 0).Order().ToArray();
        return new LatencyResult(
            scenario.Name,
            scenario.Size,
            rate,
            total,
            succeeded.Length,
            total - succeeded.Length,
            total / elapsed.TotalSeconds,
            Percentile(succeeded, 0.50),
            Percentile(succeeded, 0.90),
            Percentile(succeeded, 0.99),
            Percentile(succeeded, 0.999),
            succeeded.Length == 0 ? double.NaN : ToMilliseconds(succeeded[^1]),
            ToMilliseconds(lateness.Max()));
    }

    private static async Task SendAsync(HttpClient client, Scenario scenario, byte[] body, string keyPrefix, int index, long[] latencies, CancellationToken cancellationToken)
    {
        var path = scenario.Keys == KeyKind.Query ? $"{scenario.Path}?item={index * 7 % Scenario.SeededKeys}" : scenario.Path;
        using var request = new HttpRequestMessage(new HttpMethod(scenario.Method), path);
        if (scenario.Method != "GET")
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        var key = scenario.Keys switch
        {
            KeyKind.Unique => $"{keyPrefix}-{index}",
            KeyKind.Cycle => $"{keyPrefix}-{index * 7 % Scenario.SeededKeys}",
            KeyKind.Hot => $"{keyPrefix}-{index / Scenario.HotRun}",
            _ => null,
        };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            latencies[index] = response.IsSuccessStatusCode ? Stopwatch.GetTimestamp() - started : -1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            latencies[index] = -1;
        }
    }

    private static double Percentile(long[] sorted, double quantile)
        => sorted.Length == 0 ? double.NaN : ToMilliseconds(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)]);

    private static double ToMilliseconds(long ticks) => Math.Round(ticks * 1000.0 / Stopwatch.Frequency, 3);

    public static string Describe(LatencyResult r)
        => string.Create(CultureInfo.InvariantCulture, $"{r.Scenario}@{r.Size} {r.Rate}/s: p50 {r.P50Ms} ms, p99 {r.P99Ms} ms, max {r.MaxMs} ms, failed {r.Failed}");
}
