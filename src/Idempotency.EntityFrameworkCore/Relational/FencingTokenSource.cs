using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// Hands out fencing tokens that never repeat, across store instances and after a record or stream was purged and
/// created again: each instance reserves a block of tokens from the one counter row (<see cref="Schema.Fencing"/>) on
/// a connection of its own, outside any request transaction, and hands the block out in-process. The counter only
/// grows, so blocks are disjoint; a block a process dies with is simply never used.
/// </summary>
internal sealed class FencingTokenSource(StoreContextSource contexts)
{
    /// <summary>Tokens per reservation: one counter round trip per this many acquisitions.</summary>
    internal const long BlockSize = 1000;

    private readonly object _gate = new();
    private readonly SemaphoreSlim _refill = new(1, 1);
    private long _next = 1;
    private long _last;

    public ValueTask<long> NextAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_next <= _last)
            {
                return new(_next++);
            }
        }

        return RefillAsync(cancellationToken);
    }

    private async ValueTask<long> RefillAsync(CancellationToken cancellationToken)
    {
        await _refill.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_gate)
            {
                if (_next <= _last)
                {
                    return _next++;
                }
            }

            var last = await ReserveAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _next = last - BlockSize + 1;
                _last = last;
                return _next++;
            }
        }
        finally
        {
            _refill.Release();
        }
    }

    /// <summary>Advances the counter by one block and returns the block's last token.</summary>
    private async ValueTask<long> ReserveAsync(CancellationToken cancellationToken)
    {
        var dialect = contexts.Dialect;
        var sql = StoreSql.For(dialect);
        var lease = contexts.Create();
        try
        {
            var connection = lease.Context.Database.GetDbConnection();
            await StoreConnections.OpenAsync(lease.Context, dialect, cancellationToken).ConfigureAwait(false);
            for (var attempt = 0; ; attempt++)
            {
                await using (var reserve = StoreCommands.Create(connection, null, sql.ReserveTokens))
                {
                    StoreCommands.Add(reserve, StoreSql.Count, BlockSize);
                    if (await reserve.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is { } value and not DBNull)
                    {
                        return Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
                    }
                }

                if (attempt > 0)
                {
                    throw new InvalidOperationException($"The fencing counter row of {Schema.Fencing.Table} could not be created.");
                }

                // A database created from the model has no counter row yet: the first reservation creates it.
                await using var create = StoreCommands.Create(connection, null, sql.CreateTokenCounter);
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }
}
