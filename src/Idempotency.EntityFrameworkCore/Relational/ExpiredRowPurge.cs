using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// Checks at start-up that the store can run on the application's context (provider and model), then deletes expired
/// records and streams in bounded batches every <see cref="EntityFrameworkCoreIdempotencyStoreOptions.PurgeInterval"/>,
/// on a context of its own. Each batch is one autocommitted statement, so it never holds locks across a wait; errors
/// are logged and the next round tries again.
/// </summary>
internal sealed partial class ExpiredRowPurge(
    StoreContextSource contexts, IOptions<EntityFrameworkCoreIdempotencyStoreOptions> options, ILogger<ExpiredRowPurge> logger, TimeProvider timeProvider) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Fails the host's start with a message naming what to fix: an unverified provider or a model without the tables.
        _ = contexts.Dialect;
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the application finish starting before the first round.
        await Task.Yield();
        var interval = options.Value.PurgeInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PurgeAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                StoreLog.PurgeFailed(logger, contexts.ContextName, ex);
            }

            try
            {
                await Task.Delay(interval, timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round: batches until one comes back short, for records and then streams.</summary>
    internal async Task<(long Records, long Streams)> PurgeAsync(CancellationToken cancellationToken)
    {
        var sql = StoreSql.For(contexts.Dialect);
        var batchSize = options.Value.PurgeBatchSize;
        var lease = contexts.Create();
        try
        {
            var database = lease.Context.Database;
            await StoreConnections.OpenAsync(lease.Context, contexts.Dialect, cancellationToken).ConfigureAwait(false);
            var connection = database.GetDbConnection();
            long records = 0, streams = 0;
            int deleted;
            do
            {
                deleted = await ExecuteAsync(connection, sql.PurgeRecords, batchSize, cancellationToken).ConfigureAwait(false);
                records += deleted;
            }
            while (deleted == batchSize);

            do
            {
                // A stream's window first, then the stream once its window is gone (see StoreSql.PurgeStreams).
                await ExecuteAsync(connection, sql.PurgeStreamResponses, batchSize, cancellationToken).ConfigureAwait(false);
                deleted = await ExecuteAsync(connection, sql.PurgeStreams, batchSize, cancellationToken).ConfigureAwait(false);
                streams += deleted;
            }
            while (deleted == batchSize);

            if (records + streams > 0)
            {
                StoreLog.Purged(logger, records, streams, contexts.ContextName);
            }

            return (records, streams);
        }
        finally
        {
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<int> ExecuteAsync(System.Data.Common.DbConnection connection, string commandText, int batchSize, CancellationToken cancellationToken)
    {
        await using var command = StoreCommands.Create(connection, null, commandText);
        StoreCommands.Add(command, StoreSql.Count, batchSize);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
