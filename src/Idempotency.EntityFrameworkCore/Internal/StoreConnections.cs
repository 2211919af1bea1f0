using Microsoft.EntityFrameworkCore;

namespace Idempotency.EntityFrameworkCore.Internal;

/// <summary>Opens a context's connection for the store and applies the dialect's <see cref="SqlDialect.ConnectionSetup"/>.</summary>
internal static class StoreConnections
{
    public static async ValueTask OpenAsync(DbContext context, SqlDialect dialect, CancellationToken cancellationToken)
    {
        var database = context.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = database.GetDbConnection().CreateCommand();

        // The context's command timeout, else the connection's default (a new command starts with it).
        var timeoutSeconds = database.GetCommandTimeout() ?? command.CommandTimeout;
        if (dialect.ConnectionSetup(timeoutSeconds * 1000L) is { } setup)
        {
            command.CommandText = setup;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
