using Npgsql;
using Xunit.Abstractions;

namespace Idempotency.Testing.PostgreSql;

// Stand-in with the API of tests/Idempotency.Testing.PostgreSql (branch pgfixture) until it is merged: a server that
// is already running, named by IDEMPOTENCY_TEST_POSTGRES. Delete this file when the project reference is added.
public class PostgreSqlServerFixture(IMessageSink diagnostics) : IAsyncLifetime
{
    private readonly IMessageSink _diagnostics = diagnostics;

    public string ConnectionString { get; private set; } = "";

    public Task InitializeAsync()
    {
        ConnectionString = Environment.GetEnvironmentVariable("IDEMPOTENCY_TEST_POSTGRES")
            ?? throw new InvalidOperationException("Set IDEMPOTENCY_TEST_POSTGRES to a superuser connection string.");
        return Task.CompletedTask;
    }

    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= "test_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
