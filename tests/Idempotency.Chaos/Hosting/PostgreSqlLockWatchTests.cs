using Idempotency.CrashTest.App;
using Idempotency.Testing.PostgreSql;
using Npgsql;

namespace Idempotency.Chaos.Hosting;

/// <summary>The lock watch must name the session that holds a row, the process behind it, and whether it still lives.</summary>
public sealed class PostgreSqlLockWatchTests(PostgreSqlServerFixture postgres) : IClassFixture<PostgreSqlServerFixture>
{
    [Fact]
    public async Task A_client_giving_up_prints_the_transaction_holding_the_row_with_its_instance_and_live_process()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using (var setup = new NpgsqlConnection(database))
        {
            await setup.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE records (key text PRIMARY KEY)", setup);
            await create.ExecuteNonQueryAsync();
        }

        // A session named as an app instance would name it, with this (live) process's PID, idle in a transaction
        // that holds an uncommitted row.
        var application = ApplicationNames.For("app-x", Environment.ProcessId);
        await using var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { ApplicationName = application }.ConnectionString);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO records VALUES ('k1')", holder, transaction))
        {
            await insert.ExecuteNonQueryAsync();
        }

        int holderPid;
        await using (var pid = new NpgsqlCommand("SELECT pg_backend_pid()", holder, transaction))
        {
            holderPid = (int)(await pid.ExecuteScalarAsync())!;
        }

        var lines = new List<string>();
        await using var watch = new PostgreSqlLockWatch(database, TimeSpan.FromMinutes(10), line => { lock (lines) { lines.Add(line); } });
        await watch.ClientGaveUpAsync("key:k1", 409);

        var printed = Assert.Single(lines);
        Assert.Contains($"pid {holderPid} [{application}, process alive] idle in transaction", printed);
        Assert.Contains("last query: SELECT pg_backend_pid()", printed);
        Assert.Contains("key:k1", printed);
        Assert.Equal(0, watch.LongTransactions);
    }
}
