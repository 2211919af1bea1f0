using Idempotency.EntityFrameworkCore.Relational;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Idempotency.EntityFrameworkCore.Tests.Storage;

/// <summary>The busy timeout the store gives a SQLite connection follows the context's command timeout.</summary>
[Collection(SqliteCollection.Name)]
public sealed class SqliteConnectionSetupTests(SqliteDatabase database)
{
    private async Task<long> BusyTimeoutAsync(int commandTimeoutSeconds)
    {
        var options = new DbContextOptionsBuilder<TestDbContext>().UseSqlite(database.ConnectionString, o => o.CommandTimeout(commandTimeoutSeconds)).Options;
        await using var context = new TestDbContext(options);
        await StoreConnections.OpenAsync(context, SqliteDialect.Instance, CancellationToken.None);
        await using var command = context.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA busy_timeout";
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task The_busy_timeout_is_the_command_timeout()
        => Assert.Equal(7000, await BusyTimeoutAsync(7));

    [Fact]
    public async Task A_command_timeout_of_zero_means_waiting_without_limit_not_failing_at_once()
    {
        // Microsoft.Data.Sqlite reads 0 as "no timeout"; SQLite reads a busy timeout of 0 as "fail at once", after which
        // Microsoft.Data.Sqlite retries in steps of 150 ms: every contended write would wait at least that long.
        Assert.Equal(int.MaxValue, await BusyTimeoutAsync(0));
    }
}
