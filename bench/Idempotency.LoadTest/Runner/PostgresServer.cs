using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Idempotency.LoadTest.Runner;

/// <summary>
/// A PostgreSQL server the runner starts from the machine's binaries (<c>/usr/lib/postgresql/&lt;version&gt;/bin</c>) in
/// the run directory, on a free loopback port, and stops by PID. Durability is PostgreSQL's default (<c>fsync</c> and
/// <c>synchronous_commit</c> on), so every commit waits for its WAL flush as it would in production; only
/// <c>max_connections</c> (room for two apps' pools) and <c>pg_stat_statements</c> (statement counts per request) are
/// set. Running as root, as CI does, the server runs as the <c>postgres</c> user: <c>initdb</c> refuses root.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string ServiceUser = "postgres";

    private readonly ChildProcess _process;
    private readonly string _dataDirectory;

    private PostgresServer(ChildProcess process, string dataDirectory, int port)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The postmaster's PID (its backends are its children), once it wrote its PID file.</summary>
    public int? ServerProcessId { get; private set; }

    /// <summary>The version line of the server, e.g. <c>PostgreSQL 15.14</c>.</summary>
    public string Version { get; private set; } = string.Empty;

    /// <summary>A connection string for <paramref name="database"/> (pool bounded so that two apps stay within <c>max_connections</c>).</summary>
    public string ConnectionString(string database)
        => $"Host=127.0.0.1;Port={Port};Username={ServiceUser};Database={database};Maximum Pool Size=64{Environment.GetEnvironmentVariable("BENCH_PG_OPTIONS")}";

    /// <summary>Whether this machine has PostgreSQL's server binaries.</summary>
    public static bool IsInstalled() => FindBinaries() is not null;

    public static async Task<PostgresServer> StartAsync(RunDirectory directory, IEnumerable<string> databases, CancellationToken cancellationToken)
    {
        var binaries = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL's server binaries were not found under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql).");
        var dataDirectory = Path.Combine(directory.Path, "postgres");
        Directory.CreateDirectory(dataDirectory);
        var asRoot = Environment.UserName == "root";
        if (asRoot && !OperatingSystem.IsWindows())
        {
            // The server user must reach its data directory inside the run's (private) directory: traverse, not list.
            File.SetUnixFileMode(directory.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            await RunToEndAsync("chown", [$"{ServiceUser}:{ServiceUser}", dataDirectory], cancellationToken);
        }

        // --no-sync only skips initdb's own flush of the new cluster's files; the server below keeps fsync on.
        await RunToEndAsync(asRoot ? "runuser" : Path.Combine(binaries, "initdb"),
            [.. AsServiceUser(asRoot, Path.Combine(binaries, "initdb")), "-D", dataDirectory, "-U", ServiceUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            cancellationToken);

        var port = RedisServer.FreePort();
        var process = ChildProcess.Start("postgres", asRoot ? "runuser" : Path.Combine(binaries, "postgres"),
        [
            .. AsServiceUser(asRoot, Path.Combine(binaries, "postgres")),
            "-D", dataDirectory, "-p", port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-c", $"unix_socket_directories={dataDirectory}",
            "-c", "max_connections=200", "-c", "shared_preload_libraries=pg_stat_statements",
        ], directory);
        var server = new PostgresServer(process, dataDirectory, port);
        try
        {
            await server.WaitUntilReadyAsync(cancellationToken);
            directory.RecordPid(server.ServerProcessId!.Value);
            await using var connection = await server.OpenAsync("postgres", cancellationToken);
            await Execute(connection, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", cancellationToken);
            server.Version = (string)(await new NpgsqlCommand("SELECT split_part(version(), ' on ', 1)", connection).ExecuteScalarAsync(cancellationToken))!;
            foreach (var database in databases)
            {
                await Execute(connection, $"CREATE DATABASE \"{database}\"", cancellationToken);
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Calls per normalized statement that clients sent to <paramref name="database"/>, from <c>pg_stat_statements</c>.</summary>
    public async Task<Dictionary<string, long>> ReadStatementCallsAsync(string database, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("postgres", cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT s.query, sum(s.calls)::bigint FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 AND s.toplevel GROUP BY s.query",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = database });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            calls[reader.GetString(0)] = reader.GetInt64(1);
        }

        return calls;
    }

    /// <summary>User + system CPU ticks of the postmaster and its backends (its children) so far.</summary>
    public long? CpuTicks() => ServerProcessId is { } pid ? Runner.CpuTicks.OfProcessAndChildren(pid) : null;

    public async ValueTask DisposeAsync()
    {
        if (ServerProcessId is { } pid && !_process.HasExited)
        {
            // Fast shutdown (SIGINT) of the postmaster by its PID: it ends its backends and exits, and runuser with it.
            try
            {
                await RunToEndAsync("kill", ["-INT", pid.ToString(CultureInfo.InvariantCulture)], CancellationToken.None);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                while (!_process.HasExited && !timeout.IsCancellationRequested)
                {
                    await Task.Delay(50, CancellationToken.None);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone; the dispose below covers the rest.
            }
        }

        await _process.DisposeAsync();
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"postgres exited at start:\n{_process.LogTail()}");
            }

            try
            {
                var pidFile = Path.Combine(_dataDirectory, "postmaster.pid");
                if (ServerProcessId is null && File.Exists(pidFile))
                {
                    ServerProcessId = int.Parse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture);
                }

                await using var connection = await OpenAsync("postgres", cancellationToken);
                if (ServerProcessId is not null)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or FormatException or InvalidOperationException && DateTime.UtcNow < deadline)
            {
                // Not accepting connections yet.
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new InvalidOperationException($"postgres did not accept connections within 30 s:\n{_process.LogTail()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(string database, CancellationToken cancellationToken)
    {
        // Not pooled: the runner's few administrative connections must not hold server slots between readings.
        var connection = new NpgsqlConnection(ConnectionString(database) + ";Pooling=false");
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string[] AsServiceUser(bool asRoot, string program) => asRoot ? ["-u", ServiceUser, "--", program] : [];

    private static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }

        // The highest installed major version with a server.
        return Directory.GetDirectories(root)
            .Select(version => (Version: int.TryParse(Path.GetFileName(version), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1, Bin: Path.Combine(version, "bin")))
            .Where(v => v.Version >= 0 && File.Exists(Path.Combine(v.Bin, "initdb")) && File.Exists(Path.Combine(v.Bin, "postgres")))
            .OrderByDescending(v => v.Version)
            .Select(v => v.Bin)
            .FirstOrDefault();
    }

    private static async Task RunToEndAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', startInfo.ArgumentList)} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }
}
