using System.Diagnostics;
using System.Globalization;
using Idempotency.Chaos.History;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Reporting;

/// <summary>
/// Prints a scenario's figures and, when <c>IDEMPOTENCY_CHAOS_RESULTS</c> names a folder (<c>./build.sh chaos</c>
/// sets it), writes them there as one row of the table in docs/reliability.md; build.sh adds the header.
/// </summary>
public static class ScenarioReport
{
    public static void Publish(ITestOutputHelper output, string scenario, string faults, CheckReport report, Stopwatch duration)
    {
        var other = report.Violations.Count - report.Duplicates - report.LostResponses;
        var row = string.Create(
            CultureInfo.InvariantCulture,
            $"| {scenario} | {report.Requests} | {faults} | {report.Executions} ({report.MaxExecutionsPerOperation}) | {report.Duplicates} | " +
            $"{report.AllowedReexecutions} | {report.LostResponses} | {report.ServerErrors} ({report.Unavailable}) | {other} | {duration.Elapsed.TotalSeconds:F1} s |");
        output.WriteLine($"[{ChaosScale.Name}] {scenario}: {report}");
        output.WriteLine(row);
        foreach (var reexecution in report.Reexecutions)
        {
            output.WriteLine($"  allowed re-execution {reexecution}");
        }

        if (Environment.GetEnvironmentVariable("IDEMPOTENCY_CHAOS_RESULTS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, $"{Slug(scenario)}.row"), row + "\n");
        }
    }

    private static string Slug(string scenario)
    {
        var chars = scenario.ToLowerInvariant().ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = char.IsAsciiLetterOrDigit(chars[i]) ? chars[i] : '-';
        }

        return new string(chars);
    }
}
