using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Npgsql;

namespace Idempotency.Testing.PostgreSql;

/// <summary>
/// One PostgreSQL server started by the tests from the machine's binaries: a fresh cluster (<c>initdb</c>, trust
/// authentication, superuser <c>postgres</c>) in its own temporary directory, listening on 127.0.0.1 on a fixed port,
/// its Unix socket inside that directory. Running as root, where PostgreSQL refuses to run, both run as the
/// <c>postgres</c> user through <c>runuser</c>. It can be stopped and started again on the same port. Only the server
/// this class started is ever signalled, by the PID it wrote to <c>postmaster.pid</c>.
/// </summary>
public sealed partial class PostgreSqlServerProcess : IAsyncDisposable
{
    private const string ServiceUser = "postgres";
    private const int SignalInterrupt = 2;
    private const int SignalKill = 9;
    private const int LogLines = 200;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;
    private int _postmasterPid;

    private PostgreSqlServerProcess(int port, string directory)
    {
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    /// <summary>The temporary directory holding the cluster (<c>data/</c>) and the Unix socket; deleted on dispose.</summary>
    public string Directory { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>An Npgsql connection string to the <c>postgres</c> database as the superuser.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = ServiceUser,
        Database = "postgres",
    }.ConnectionString;

    private string DataDirectory => Path.Combine(Directory, "data");

    private static bool IsRoot { get; } = OperatingSystem.IsLinux() && GetEffectiveUserId() == 0;

    /// <summary>Creates a cluster and starts it on a free port, trying another port if one is taken between choosing and binding it.</summary>
    public static async Task<PostgreSqlServerProcess> StartNewAsync()
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "idempotency-postgres-tests", Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(directory);
            var server = new PostgreSqlServerProcess(GetFreePort(), directory);
            try
            {
                await server.InitializeClusterAsync();
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException ex)
            {
                last = ex;
                await server.DisposeAsync();
            }
        }

        throw new InvalidOperationException($"Could not start a local PostgreSQL server: {last?.Message}", last);
    }

    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        // fsync off: the tests never crash the machine, and a cluster per test class must be cheap. Connections for
        // several app instances, each with its own pool.
        _process = StartProcess(
            PostgreSqlBinaries.Server,
            "-D", DataDirectory,
            "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-h", "127.0.0.1",
            "-k", Directory,
            "-c", "fsync=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=500",
            "-c", "logging_collector=off");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                var code = _process.ExitCode;
                _process.Dispose();
                _process = null;
                throw new InvalidOperationException($"postgres on port {Port} exited with code {code}. Log:\n{LogTail()}");
            }

            if (_postmasterPid == 0)
            {
                _postmasterPid = ReadPostmasterPid();
            }

            if (_postmasterPid != 0 && await AcceptsConnectionsAsync())
            {
                return;
            }

            await Task.Delay(50);
        }

        await StopAsync();
        throw new InvalidOperationException($"postgres on port {Port} did not accept connections within {StartTimeout}. Log:\n{LogTail()}");
    }

    /// <summary>
    /// Stops the server with a fast shutdown (SIGINT to the postmaster: sessions are cut, no client is waited for),
    /// and kills it if it is still there after a while; waits until it is gone.
    /// </summary>
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
            var pid = _postmasterPid != 0 ? _postmasterPid : ReadPostmasterPid();
            _postmasterPid = 0;
            if (pid != 0 && !process.HasExited)
            {
                _ = SendSignal(pid, SignalInterrupt);
                using var patience = new CancellationTokenSource(StopTimeout);
                try
                {
                    await process.WaitForExitAsync(patience.Token);
                    return;
                }
                catch (OperationCanceledException)
                {
                    _ = SendSignal(pid, SignalKill);
                }
            }

            if (!process.HasExited)
            {
                // Without the server's own PID (it never wrote one) or after SIGKILL: the process this class started,
                // which is runuser (waiting for its child) or the server itself.
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
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover temp directory is harmless; the server is already gone.
        }
    }

    public static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task InitializeClusterAsync()
    {
        if (IsRoot)
        {
            // initdb and postgres refuse to run as root; the service user must own the directory they write.
            await RunToEndAsync("chown", "-R", $"{ServiceUser}:{ServiceUser}", Directory);
        }

        using var initdb = StartProcess(
            PostgreSqlBinaries.InitDb, "-D", DataDirectory, "-U", ServiceUser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await initdb.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            initdb.Kill();
            throw new InvalidOperationException($"initdb did not finish within a minute. Output:\n{LogTail()}");
        }

        if (initdb.ExitCode != 0)
        {
            throw new InvalidOperationException($"initdb exited with code {initdb.ExitCode}. Output:\n{LogTail()}");
        }
    }

    /// <summary>Starts a PostgreSQL binary, as the service user when running as root, its output kept for diagnostics.</summary>
    private Process StartProcess(string file, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(IsRoot ? "runuser" : file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
        };
        if (IsRoot)
        {
            foreach (var argument in (string[])["-u", ServiceUser, "--", file])
            {
                startInfo.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{startInfo.FileName} did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not run {startInfo.FileName}: {ex.Message}", ex);
        }

        process.OutputDataReceived += (_, line) => Keep(line.Data);
        process.ErrorDataReceived += (_, line) => Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task RunToEndAsync(string file, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{file} did not start.");
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with code {process.ExitCode}: {error}");
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > LogLines && _log.TryDequeue(out _))
        {
        }
    }

    private string LogTail() => _log.IsEmpty ? "(no output)" : string.Join('\n', _log);

    /// <summary>The postmaster's PID, from the first line of <c>postmaster.pid</c>; 0 until the server has written it.</summary>
    private int ReadPostmasterPid()
    {
        try
        {
            using var reader = new StreamReader(new FileStream(
                Path.Combine(DataDirectory, "postmaster.pid"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            return int.TryParse(reader.ReadLine(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private async Task<bool> AcceptsConnectionsAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false, Timeout = 2 };
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync();
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static bool SendSignal(int pid, int signal) => Kill(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}
