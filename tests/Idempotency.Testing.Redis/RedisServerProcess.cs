using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Idempotency.Testing.Redis;

/// <summary>
/// One redis-server process started by the tests, on a fixed loopback port and in its own temporary directory, with
/// persistence off. It can be stopped (killed, like a crash) and started again on the same port. Only the process this
/// class started is ever killed, by its PID.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly string[] _extraArguments;
    private Process? _process;

    private RedisServerProcess(int port, string directory, string[] extraArguments)
    {
        Port = port;
        Directory = directory;
        _extraArguments = extraArguments;
    }

    public int Port { get; }

    public string Directory { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a server on a free port, trying another port if one is taken between choosing and binding it.</summary>
    public static async Task<RedisServerProcess> StartNewAsync(params string[] extraArguments)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "idempotency-redis-tests", Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(directory);
            var server = new RedisServerProcess(GetFreePort(), directory, extraArguments);
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException ex)
            {
                last = ex;
                await server.DisposeAsync();
            }
        }

        throw new InvalidOperationException("Could not start a local redis-server.", last);
    }

    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var startInfo = new ProcessStartInfo(RedisBinaries.Server)
        {
            UseShellExecute = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
            WorkingDirectory = Directory,
        };
        foreach (var argument in (string[])["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", Directory, "--logfile", LogFile])
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var argument in _extraArguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        _process = Process.Start(startInfo) ?? throw new InvalidOperationException("redis-server did not start.");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server on port {Port} exited with code {_process.ExitCode}. Log:\n{ReadLogTail()}");
            }

            if (await Resp.PingAsync(Port))
            {
                return;
            }

            await Task.Delay(20);
        }

        await StopAsync();
        throw new InvalidOperationException($"redis-server on port {Port} did not answer PING within {StartTimeout}. Log:\n{ReadLogTail()}");
    }

    /// <summary>Kills the server (no shutdown handshake, as in a crash) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        using (process)
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless; the server is already gone.
        }
    }

    private string LogFile => Path.Combine(Directory, "redis.log");

    private string ReadLogTail()
    {
        try
        {
            var lines = File.ReadAllLines(LogFile);
            return string.Join('\n', lines[Math.Max(0, lines.Length - 20)..]);
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    public static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
