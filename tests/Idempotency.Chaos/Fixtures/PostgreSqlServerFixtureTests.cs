using System.Net.Sockets;
using Idempotency.Testing.PostgreSql;
using Npgsql;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Idempotency.Chaos.Fixtures;

/// <summary>
/// The PostgreSQL fixture the crash harness and the relational store's tests stand on: fresh databases, a restart on
/// the same port that keeps them, and nothing left running after it.
/// </summary>
public sealed class PostgreSqlServerFixtureTests(PostgreSqlServerFixture server, ITestOutputHelper output) : IClassFixture<PostgreSqlServerFixture>
{
    [Fact]
    public async Task Each_created_database_is_fresh_empty_and_writable()
    {
        var first = await server.CreateDatabaseAsync();
        var second = await server.CreateDatabaseAsync();

        Assert.NotEqual(new NpgsqlConnectionStringBuilder(first).Database, new NpgsqlConnectionStringBuilder(second).Database);
        await ExecuteAsync(first, "CREATE TABLE things (id int PRIMARY KEY); INSERT INTO things VALUES (1), (2)");
        Assert.Equal(2L, await ScalarAsync(first, "SELECT count(*) FROM things"));
        Assert.Equal(0L, await ScalarAsync(second, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
    }

    [Fact]
    public async Task A_stopped_server_refuses_connections_and_restarts_on_the_same_port_with_its_data()
    {
        var database = await server.CreateDatabaseAsync("kept");
        await ExecuteAsync(database, "CREATE TABLE things (id int PRIMARY KEY); INSERT INTO things VALUES (7)");
        var port = server.Port;

        await server.StopServerAsync();
        Assert.False(await AcceptsTcpAsync(port), $"The stopped server ({server.Kind}) still accepts connections.");

        await server.StartServerAsync();
        Assert.Equal(port, server.Port);
        Assert.Equal(7, await ScalarAsync(database, "SELECT id FROM things"));
    }

    [Fact]
    public async Task Disposing_the_fixture_leaves_no_server_behind()
    {
        var fixture = new PostgreSqlServerFixture(new NullMessageSink());
        await fixture.InitializeAsync();
        output.WriteLine(fixture.Kind);
        var port = fixture.Port;
        Assert.True(await AcceptsTcpAsync(port));

        await fixture.DisposeAsync();

        Assert.False(await AcceptsTcpAsync(port), $"The disposed server ({fixture.Kind}) still accepts connections.");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        // No pooled connection: the server may have been restarted since the last one was opened.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static async Task<bool> AcceptsTcpAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
