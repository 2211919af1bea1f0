using DotNet.Testcontainers.Builders;
using Npgsql;
using Testcontainers.PostgreSql;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Idempotency.Testing.PostgreSql;

/// <summary>
/// A standalone PostgreSQL server for one test class: a Testcontainers container when a Docker daemon is reachable,
/// otherwise a local server started from the machine's binaries (see <see cref="PostgreSqlServerProcess"/>). Fails
/// (never skips) when neither can be had. Tests get fresh empty databases from <see cref="CreateDatabaseAsync"/>. The
/// server can be stopped and started again on the same port for fault tests, so each class that does so must have
/// its own (a class fixture).
/// </summary>
public class PostgreSqlServerFixture(IMessageSink diagnostics) : IAsyncLifetime
{
    private const string ContainerImage = "postgres:17";
    private const string ContainerPassword = "postgres";

    private PostgreSqlContainer? _container;
    private PostgreSqlServerProcess? _process;

    public int Port { get; private set; }

    /// <summary>An Npgsql connection string to the <c>postgres</c> database as a superuser.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>Which kind of server backs this fixture, for diagnostics.</summary>
    public string Kind { get; private set; } = "none";

    public async Task InitializeAsync()
    {
        var dockerFailure = await TryStartContainerAsync();
        if (_container is not null)
        {
            return;
        }

        try
        {
            _process = await PostgreSqlServerProcess.StartNewAsync();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"No PostgreSQL server for the tests. Docker: {dockerFailure}. Local PostgreSQL: {ex.Message}", ex);
        }

        Port = _process.Port;
        ConnectionString = _process.ConnectionString;
        Kind = $"local PostgreSQL (pid-managed) on port {Port}";
        diagnostics.OnMessage(new DiagnosticMessage($"PostgreSQL tests use {Kind}; Docker: {dockerFailure}"));
    }

    /// <summary>Creates a fresh empty database (a unique name unless one is given) and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= "test_" + Guid.NewGuid().ToString("N");
        // Unpooled: a pooled connection would not survive a restart of the server between two calls.
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Stops the server: a fast shutdown of the local server (sessions cut at once), a stopped container.</summary>
    public async Task StopServerAsync()
    {
        if (_container is not null)
        {
            await _container.StopAsync();
        }
        else
        {
            await _process!.StopAsync();
        }
    }

    /// <summary>Starts the stopped server again on the same port, with its databases as they were.</summary>
    public async Task StartServerAsync()
    {
        if (_container is not null)
        {
            await _container.StartAsync();
        }
        else
        {
            await _process!.StartAsync();
        }
    }

    public virtual async Task DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }

    /// <returns>Why Docker was not used, or null when the container runs.</returns>
    private async Task<string?> TryStartContainerAsync()
    {
        PostgreSqlContainer container;
        var port = PostgreSqlServerProcess.GetFreePort();
        try
        {
            // A fixed host port, so that a stopped and restarted container is found where the clients left it.
            container = new PostgreSqlBuilder(ContainerImage)
                .WithPassword(ContainerPassword)
                .WithPortBinding(port, 5432)
                .WithCommand("-c", "fsync=off", "-c", "max_connections=500")
                .Build();
        }
        catch (DockerUnavailableException ex)
        {
            return $"unavailable ({ex.Message.Split('\n')[0]})";
        }

        try
        {
            await container.StartAsync();
        }
        catch (Exception ex)
        {
            // A daemon that cannot pull or run the image (offline machine) is as good as none: use a local server.
            await container.DisposeAsync();
            return $"reachable but the container did not start ({ex.GetType().Name}: {ex.Message.Split('\n')[0]})";
        }

        _container = container;
        Port = port;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Password = ContainerPassword,
            Database = "postgres",
        }.ConnectionString;
        Kind = $"Testcontainers {ContainerImage} on port {Port}";
        diagnostics.OnMessage(new DiagnosticMessage($"PostgreSQL tests use {Kind}"));
        return null;
    }
}
