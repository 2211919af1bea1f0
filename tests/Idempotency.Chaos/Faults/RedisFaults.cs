using System.Globalization;
using Idempotency.Testing.Redis;

namespace Idempotency.Chaos.Faults;

/// <summary>Faults injected into a running redis-server through its own commands, on a separate admin socket.</summary>
public static class RedisFaults
{
    /// <summary>Blocks the whole server for <paramref name="duration"/> (DEBUG SLEEP): every client waits.</summary>
    public static Task DebugSleepAsync(int port, TimeSpan duration)
        => Resp.ExecuteAsync(port, "DEBUG", "SLEEP", duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture));

    /// <summary>Suspends every client's commands for <paramref name="duration"/> (CLIENT PAUSE ... ALL); returns at once.</summary>
    public static Task PauseClientsAsync(int port, TimeSpan duration)
        => Resp.ExecuteAsync(port, "CLIENT", "PAUSE", ((long)duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), "ALL");

    /// <summary>Kills every normal client connection but the admin socket itself; returns how many were killed.</summary>
    public static async Task<long> KillClientsAsync(int port)
        => (long)(await Resp.ExecuteAsync(port, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))!;
}
