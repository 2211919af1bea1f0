using System.Data.Common;
using Idempotency.Storage;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>The operator's view and repairs (<see cref="IIdempotencyAdminStore"/>): <see cref="StoreAdminSql"/>'s statements on a context of their own.</summary>
internal sealed partial class EntityFrameworkCoreIdempotencyStore : IIdempotencyAdminStore
{
    public async ValueTask<IdempotencyRecordInfo?> InspectRecordAsync(string key, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = StoreCommands.Create(session.Connection, null, StoreAdminSql.For(session.Dialect).InspectRecord);
            StoreCommands.Add(command, StoreSql.Key, key);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var state = reader.GetInt16(0);
            var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2));
            return state switch
            {
                Schema.Records.InFlight => IdempotencyRecordInfo.InFlight(reader.GetInt64(1), expiresAt),
                Schema.Records.Completed when !reader.IsDBNull(3) => IdempotencyRecordInfo.Completed(ReadResponse(reader.GetFieldValue<byte[]>(3), ResponseOptions), expiresAt),
                _ => throw new InvalidDataException($"The idempotency record has state {state}{(reader.IsDBNull(3) ? " and no response" : "")}, which this version of the store does not read."),
            };
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(session.Dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = StoreCommands.Create(session.Connection, null, StoreAdminSql.For(session.Dialect).DeleteRecord);
            StoreCommands.Add(command, StoreSql.Key, key);
            return await ReadLiveAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(session.Dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask<IdempotencyStreamInfo?> InspectStreamAsync(string streamKey, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = StoreCommands.Create(session.Connection, null, StoreAdminSql.For(session.Dialect).InspectStream);
            StoreCommands.Add(command, StoreSql.Key, streamKey);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var epoch = reader.GetInt64(0);
            var last = reader.GetInt64(1);
            var slotToken = reader.GetInt64(2);
            var slot = slotToken != 0 && reader.GetBoolean(6)
                ? new IdempotencyStreamSlot(slotToken, reader.GetInt64(3), reader.GetInt64(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)))
                : null;
            var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7));
            var window = new List<IdempotencyStreamEntry>();
            if (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    window.Add(new IdempotencyStreamEntry(reader.GetInt64(0), ReadResponse(reader.GetFieldValue<byte[]>(1), ResponseOptions)));
                }
            }

            return new IdempotencyStreamInfo(epoch, last, window, slot, expiresAt);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(session.Dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask<bool> ResetStreamAsync(string streamKey, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var sql = StoreAdminSql.For(session.Dialect);
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var window = StoreCommands.Create(session.Connection, transaction, sql.ResetStreamWindow))
            {
                StoreCommands.Add(window, StoreSql.Key, streamKey);
                await window.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            bool live;
            await using (var stream = StoreCommands.Create(session.Connection, transaction, sql.ResetStream))
            {
                StoreCommands.Add(stream, StoreSql.Key, streamKey);
                live = await ReadLiveAsync(stream, cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return live;
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(session.Dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Whether a <c>DELETE ... RETURNING expires_at &gt; now</c> deleted a live row.</summary>
    private static async ValueTask<bool> ReadLiveAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && reader.GetBoolean(0);
    }
}
