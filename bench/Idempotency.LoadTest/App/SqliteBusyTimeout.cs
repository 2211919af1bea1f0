using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Idempotency.LoadTest.App;

/// <summary>
/// Sets SQLite's busy timeout on every connection the bench's SQLite contexts open, in both SQLite apps. Without it,
/// Microsoft.Data.Sqlite retries a locked database every 150 ms; SQLite's own busy handler retries within milliseconds.
/// The relational store sets it on the connections it opens, so the baseline app must have it too, or the comparison
/// would measure two lock-wait policies instead of the store.
/// </summary>
public sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    // Microsoft.Data.Sqlite's default command timeout (30 s), so a write waits for the lock as long as a command may run.
    private const string Pragma = "PRAGMA busy_timeout = 30000";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
