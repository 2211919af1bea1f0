using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

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
        "info", "config", "ping", "echo", "cluster", "client", "subscribe", "command", "hello", "select",
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

            try
            {
                if (await server.ExecuteAsync(["PING"], cancellationToken) == "PONG")
                {
                    return server;
                }
            }
            catch (SocketException)
            {
                // Not listening yet.
            }

            await Task.Delay(20, cancellationToken);
        }

        await server.DisposeAsync();
        throw new InvalidOperationException($"redis-server did not answer PING within 15 s:\n{process.LogTail()}");
    }

    /// <summary>Calls per command since the server started, from INFO commandstats.</summary>
    public async Task<Dictionary<string, long>> ReadCommandStatsAsync(CancellationToken cancellationToken)
        => CommandStatsInfo.Parse(await ExecuteAsync(["INFO", "commandstats"], cancellationToken) ?? string.Empty);

    /// <summary>Whether <paramref name="command"/> (as commandstats names it, e.g. <c>config|resetstat</c>) is housekeeping.</summary>
    public static bool IsHousekeeping(string command)
    {
        var bar = command.IndexOf('|', StringComparison.Ordinal);
        return Housekeeping.Contains(bar < 0 ? command : command[..bar]);
    }

    public async ValueTask DisposeAsync() => await _process.DisposeAsync();

    /// <summary>Sends one command; answers a simple or bulk string reply (the only kinds the runner needs).</summary>
    private async Task<string?> ExecuteAsync(string[] arguments, CancellationToken cancellationToken)
    {
        using var client = new TcpClient { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
        var stream = client.GetStream();
        var request = new StringBuilder();
        request.Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);

        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                throw new IOException("Redis closed the connection before answering.");
            }

            received.Write(buffer, 0, read);
            if (TryParse(received.GetBuffer().AsSpan(0, (int)received.Length), out var reply))
            {
                return reply;
            }
        }
    }

    private static bool TryParse(ReadOnlySpan<byte> data, out string? reply)
    {
        reply = null;
        var lineEnd = data.IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return false;
        }

        var line = Encoding.UTF8.GetString(data[1..lineEnd]);
        switch ((char)data[0])
        {
            case '+':
                reply = line;
                return true;
            case '-':
                throw new InvalidOperationException("Redis answered an error: " + line);
            case '$':
                var length = int.Parse(line, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return true;
                }

                if (data.Length < lineEnd + 2 + length + 2)
                {
                    return false;
                }

                reply = Encoding.UTF8.GetString(data.Slice(lineEnd + 2, length));
                return true;
            default:
                throw new InvalidDataException($"Unexpected Redis reply: {line}");
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
