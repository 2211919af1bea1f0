using Idempotency.Testing.Redis;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>Reads how often each command ran since the last CONFIG RESETSTAT, from INFO commandstats.</summary>
internal static class CommandStats
{
    /// <summary>Commands the store's scripts run inside Redis; commandstats counts them like client commands.</summary>
    public static readonly IReadOnlySet<string> ScriptInternal = new HashSet<string>(StringComparer.Ordinal) { "hmget", "hset", "hdel", "pexpire", "del", "pttl", "time", "hkeys" };

    /// <summary>The script-internal commands that change data.</summary>
    public static readonly IReadOnlySet<string> ScriptWrites = new HashSet<string>(StringComparer.Ordinal) { "hset", "hdel", "pexpire", "del" };

    private static readonly HashSet<string> Housekeeping = new(StringComparer.Ordinal) { "info", "config", "ping", "echo", "cluster", "client" };

    /// <summary>
    /// Whether a test or the client library's housekeeping may have sent <paramref name="command"/> while a measurement
    /// ran. Redis 7 reports subcommands as <c>config|resetstat</c>.
    /// </summary>
    public static bool IsHousekeeping(string command)
    {
        var bar = command.IndexOf('|', StringComparison.Ordinal);
        return Housekeeping.Contains(bar < 0 ? command : command[..bar]);
    }

    public static Task ResetAsync(int port) => Resp.ExecuteAsync(port, "CONFIG", "RESETSTAT");

    public static async Task<IReadOnlyDictionary<string, long>> ReadAsync(int port)
        => CommandStatsInfo.Parse(await Resp.ExecuteStringAsync(port, "INFO", "commandstats"));

    public static string Format(IReadOnlyDictionary<string, long> calls)
        => string.Join(", ", calls.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key}={pair.Value}"));
}
