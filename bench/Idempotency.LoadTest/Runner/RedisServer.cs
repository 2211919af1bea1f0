using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Idempotency.Testing.Redis;

namespace Idempotency.LoadTest.Runner;

/// <summary>
/// A redis-server the runner starts on a free loopback port in the run directory, persistence off, and stops by PID.
/// Administrative commands (PING, INFO) go over short-lived sockets of their own so they never share the apps'
/// connections.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>
    /// Commands that Lua scripts run inside Redis. INFO commandstats counts them like commands a client sent, so they
    /// are not round trips: the idempotency scripts use HMGET, HSET, HDEL, PEXPIRE and DEL; output caching's tag script
    /// uses ZSCORE and ZADD.
    /// </summary>
    public static readonly IReadOnlySet<string> ScriptInternal = new HashSet<string>(StringComparer.Ordinal)
    {
        "hmget", "hset", "hdel", "pexpire", "del", "zscore", "zadd",
    };

    // Sent by the runner or by StackExchange.Redis on its own (connection set-up, heartbeats), never per request.
    private static readonly HashSet<string> Housekeeping = new(StringComparer.Ordinal)
    {
        "info", "config", "ping", "echo", "cluster", "client", "subscribe", "command", "hello", "select", "dbsize",
    };

    private readonly ChildProcess _process;

    private RedisServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public int ProcessId => _process.Id;

    public static async Task<RedisServer> StartAsync(RunDirectory directory, CancellationToken cancellationToken)
    {
        var redisDirectory = Path.Combine(directory.Path, "redis");
        Directory.CreateDirectory(redisDirectory);
        var port = FreePort();
        var process = ChildProcess.Start("redis-server", "redis-server",
        [
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", redisDirectory, "--protected-mode", "yes",
        ], directory);
        var server = new RedisServer(process, port);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited at start:\n{process.LogTail()}");
            }

            if (await Resp.PingAsync(port))
            {
                return server;
            }

            await Task.Delay(20, cancellationToken);
        }

        await server.DisposeAsync();
        throw new InvalidOperationException($"redis-server did not answer PING within 15 s:\n{process.LogTail()}");
    }

    /// <summary>Calls per command since the server started, from INFO commandstats.</summary>
    public async Task<Dictionary<string, long>> ReadCommandStatsAsync(CancellationToken cancellationToken)
        => CommandStatsInfo.Parse(await Resp.ExecuteStringAsync(Port, "INFO", "commandstats").WaitAsync(cancellationToken));

    /// <summary>Bytes Redis has allocated for its data (<c>INFO memory</c>'s <c>used_memory</c>) and the keys it holds (<c>DBSIZE</c>).</summary>
    public async Task<(long UsedMemory, long Keys)> ReadMemoryAsync(CancellationToken cancellationToken)
    {
        var info = await Resp.ExecuteStringAsync(Port, "INFO", "memory").WaitAsync(cancellationToken);
        var usedMemory = info.Split('\n').Select(line => line.Trim()).First(line => line.StartsWith("used_memory:", StringComparison.Ordinal))["used_memory:".Length..];
        var keys = Convert.ToInt64(await Resp.ExecuteAsync(Port, "DBSIZE").WaitAsync(cancellationToken), CultureInfo.InvariantCulture);
        return (long.Parse(usedMemory, CultureInfo.InvariantCulture), keys);
    }

    /// <summary>Whether <paramref name="command"/> (as commandstats names it, e.g. <c>config|resetstat</c>) is housekeeping.</summary>
    public static bool IsHousekeeping(string command)
    {
        var bar = command.IndexOf('|', StringComparison.Ordinal);
        return Housekeeping.Contains(bar < 0 ? command : command[..bar]);
    }

    public async ValueTask DisposeAsync() => await _process.DisposeAsync();

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
