using System.Globalization;

namespace Idempotency.Testing.Redis;

/// <summary>
/// Parses the reply of <c>INFO commandstats</c>. Shared by the Redis tests and, as a linked source file, by the load
/// test's runner, which counts Redis commands per request the same way.
/// </summary>
public static class CommandStatsInfo
{
    /// <summary>Calls per command (as Redis names it, e.g. <c>evalsha</c> or <c>config|resetstat</c>).</summary>
    public static Dictionary<string, long> Parse(string info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            // cmdstat_evalsha:calls=1,usec=12,usec_per_call=12.00,rejected_calls=0,failed_calls=0
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = line["cmdstat_".Length..colon];
            foreach (var field in line[(colon + 1)..].Split(','))
            {
                if (field.StartsWith("calls=", StringComparison.Ordinal))
                {
                    calls[name] = long.Parse(field["calls=".Length..], CultureInfo.InvariantCulture);
                }
            }
        }

        return calls;
    }
}
