using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Idempotency.Benchmarks.Infrastructure;

/// <summary>
/// The Redis server of a benchmark process: <c>IDEMPOTENCY_BENCH_REDIS</c> when set, otherwise a redis-server started
/// on a free loopback port in a temporary directory, persistence off, and stopped by its PID.
/// </summary>
public sealed class LocalRedis : IDisposable
{
    public const string EnvironmentVariable = "IDEMPOTENCY_BENCH_REDIS";

    private readonly Process? _process;
    private readonly string? _directory;

    private LocalRedis(string configuration, Process? process, string? directory)
    {
        Configuration = configuration;
        _process = process;
        _directory = directory;
    }

    public string Configuration { get; }

    public static bool IsAvailable(out string why)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 })
        {
            why = string.Empty;
            return true;
        }

        var found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, "redis-server")));
        why = found ? string.Empty : $"no redis-server on PATH (apt-get install -y redis-server) and {EnvironmentVariable} is not set";
        return found;
    }

    public static LocalRedis Start()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured)
        {
            return new LocalRedis(configured, null, null);
        }

        var directory = Path.Combine(Path.GetTempPath(), "idempotency-bench-redis-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var port = FreePort();
        var startInfo = new ProcessStartInfo("redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var argument in (string[])["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory])
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new LocalRedis($"127.0.0.1:{port}", process, directory);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (process.HasExited)
            {
                redis.Dispose();
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}.");
            }

            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return redis;
            }
            catch (SocketException)
            {
                Thread.Sleep(20);
            }
        }

        redis.Dispose();
        throw new InvalidOperationException("redis-server did not listen within 15 s.");
    }

    public void Dispose()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.WaitForExit(10_000);
            _process.Dispose();
        }

        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp directory is harmless.
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
