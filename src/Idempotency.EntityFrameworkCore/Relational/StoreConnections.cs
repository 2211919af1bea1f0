using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>Opens a context's connection for the store and applies the dialect's <see cref="SqlDialect.ConnectionSetup"/>.</summary>
internal static class StoreConnections
{
    /// <summary>Opens the connection; if the open or the setup fails or is cancelled, the connection is closed again.</summary>
    public static async ValueTask OpenAsync(DbContext context, SqlDialect dialect, CancellationToken cancellationToken)
    {
        var database = context.Database;
        try
        {
            await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A cancelled or failed open may leave the connection neither open nor closed (Npgsql: "Connecting"):
            // close it, so the context can open it again or be disposed.
            await CloseQuietlyAsync(context).ConfigureAwait(false);
            throw;
        }

        try
        {
            await using var command = database.GetDbConnection().CreateCommand();

            // The context's command timeout, else the connection's default (a new command starts with it).
            var timeoutSeconds = database.GetCommandTimeout() ?? command.CommandTimeout;
            if (dialect.ConnectionSetup(timeoutSeconds * 1000L) is { } setup)
            {
                command.CommandText = setup;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await CloseQuietlyAsync(context).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes what <see cref="OpenAsync"/> opened (EF Core counts opens), logging rather than throwing.</summary>
    public static async ValueTask CloseAsync(DbContext context, ILogger logger, string contextName)
    {
        try
        {
            await context.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            StoreLog.RollbackFailed(logger, contextName, ex);
        }
    }

    private static async ValueTask CloseQuietlyAsync(DbContext context)
    {
        try
        {
            await context.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Not open: nothing of ours to close.
        }
    }
}
