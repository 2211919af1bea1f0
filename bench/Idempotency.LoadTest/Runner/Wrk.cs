using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Idempotency.LoadTest.Runner;

/// <summary>What wrk's <c>done()</c> in bench.lua reports.</summary>
public sealed record WrkResult(
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("duration_us")] long DurationMicroseconds,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("connect_errors")] long ConnectErrors,
    [property: JsonPropertyName("read_errors")] long ReadErrors,
    [property: JsonPropertyName("write_errors")] long WriteErrors,
    [property: JsonPropertyName("status_errors")] long StatusErrors,
    [property: JsonPropertyName("timeouts")] long Timeouts,
    [property: JsonPropertyName("latency_p50_us")] long LatencyP50,
    [property: JsonPropertyName("latency_p90_us")] long LatencyP90,
    [property: JsonPropertyName("latency_p99_us")] long LatencyP99,
    [property: JsonPropertyName("latency_max_us")] long LatencyMax)
{
    public double RequestsPerSecond => DurationMicroseconds <= 0 ? 0 : Requests * 1_000_000.0 / DurationMicroseconds;

    public long SocketErrors => ConnectErrors + ReadErrors + WriteErrors + Timeouts;
}

[JsonSerializable(typeof(WrkResult))]
public sealed partial class WrkJsonContext : JsonSerializerContext;

/// <summary>Runs wrk (saturation: a closed loop of <c>connections</c> keeping one request each in flight) for a bounded time.</summary>
public sealed class Wrk(string luaScript, int threads, int connections, RunDirectory directory)
{
    public async Task<WrkResult> RunAsync(Uri baseAddress, Scenario scenario, string bodyFile, string keyPrefix, TimeSpan duration, CancellationToken cancellationToken)
    {
        var keyCount = scenario.Keys switch
        {
            KeyKind.Cycle or KeyKind.Query => Scenario.SeededKeys,
            KeyKind.Hot => Scenario.HotRun,
            _ => 0,
        };
        var startInfo = new ProcessStartInfo("wrk")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[
                     "-t", threads.ToString(CultureInfo.InvariantCulture),
                     "-c", connections.ToString(CultureInfo.InvariantCulture),
                     "-d", $"{(int)duration.TotalSeconds}s",
                     "--timeout", "5s",
                     "-s", luaScript,
                     new Uri(baseAddress, scenario.Path).ToString(),
                     "--",
                     scenario.Method, scenario.Path, scenario.Method == "GET" ? "-" : bodyFile,
                     scenario.Keys.ToString().ToLowerInvariant(), keyPrefix, keyCount.ToString(CultureInfo.InvariantCulture)])
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("wrk did not start.");
        directory.RecordPid(process.Id);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);

        // wrk stops by itself after -d; the bound here only guards against a wedged process.
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(duration + TimeSpan.FromSeconds(15));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            throw;
        }

        var output = await stdout;
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("WRKJSON ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk printed no result (exit {process.ExitCode}):\n{output}\n{await stderr}");
        return JsonSerializer.Deserialize(line["WRKJSON ".Length..], WrkJsonContext.Default.WrkResult)
            ?? throw new InvalidDataException("wrk's result was null.");
    }
}
