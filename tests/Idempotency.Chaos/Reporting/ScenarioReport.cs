using System.Diagnostics;
using System.Globalization;
using System.Text;
using Idempotency.Chaos.History;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Reporting;

/// <summary>
/// Prints a scenario's figures and, when <c>IDEMPOTENCY_CHAOS_RESULTS</c> names a folder (<c>./build.sh chaos</c>
/// sets it), writes them there as one row of the table in docs/reliability.md, beside the table's header and each
/// scenario's bounds with their reasons; build.sh puts them together.
/// </summary>
public static class ScenarioReport
{
    /// <summary>The table's header, in the order of <see cref="Publish"/>'s row.</summary>
    private const string Header =
        "| scenario | requests sent | faults injected | instances killed | failovers | executions (max per key) | duplicates | " +
        "allowed re-executions (proof) | cap on allowed | lost responses | 5xx (of which 503) | other violations | duration |\n" +
        "|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|";

    /// <summary>
    /// Prints the figures, the bounds with their reason and every allowed re-execution with its evidence, and writes
    /// the row. <paramref name="bounds"/> is null for the controls, which must fail the check rather than meet bounds.
    /// </summary>
    public static void Publish(
        ITestOutputHelper output, string scenario, string faults, CheckReport report, Stopwatch duration,
        ScenarioBounds? bounds, int instancesKilled = 0, int failovers = 0)
    {
        var other = report.Violations.Count - report.Duplicates - report.LostResponses;
        var row = string.Create(
            CultureInfo.InvariantCulture,
            $"| {scenario} | {report.Requests} | {faults} | {instancesKilled} | {failovers} | {report.Executions} ({report.MaxExecutionsPerOperation}) | {report.Duplicates} | " +
            $"{Proofs(report)} | {(bounds is null ? "–" : bounds.MaxReexecutions)} | {report.LostResponses} | {report.ServerErrors} ({report.Unavailable}) | {other} | {duration.Elapsed.TotalSeconds:F1} s |");
        output.WriteLine($"[{ChaosScale.Name}] {scenario}: {report}");
        if (bounds is not null)
        {
            output.WriteLine(
                $"bounds: {bounds.Operations} operations, at most {bounds.MaxPerOperation} executions each, at most {bounds.MaxReexecutions} allowed re-executions: {bounds.Why}");
        }

        output.WriteLine(row);
        foreach (var reexecution in report.Reexecutions)
        {
            output.WriteLine($"  allowed re-execution {reexecution}");
        }

        if (Environment.GetEnvironmentVariable("IDEMPOTENCY_CHAOS_RESULTS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "header"), Header + "\n");
            File.WriteAllText(Path.Combine(folder, $"{Slug(scenario)}.row"), row + "\n");
            if (bounds is not null)
            {
                File.WriteAllText(Path.Combine(folder, $"{Slug(scenario)}.bounds"), $"- {scenario}: cap {bounds.MaxReexecutions}, {bounds.Why}\n");
            }
        }
    }

    /// <summary>The count of allowed re-executions and, grouped, the evidence each rests on: "2 (fenced; lease ended by Redis's log: 2)".</summary>
    internal static string Proofs(CheckReport report)
    {
        if (report.AllowedReexecutions == 0)
        {
            return "0";
        }

        var text = new StringBuilder().Append(report.AllowedReexecutions).Append(" (");
        var first = true;
        foreach (var group in report.Reexecutions.GroupBy(r => r.Proof, StringComparer.Ordinal).OrderByDescending(g => g.Count()))
        {
            text.Append(first ? string.Empty : ", ").Append(group.Key).Append(": ").Append(group.Count());
            first = false;
        }

        return text.Append(')').ToString();
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
