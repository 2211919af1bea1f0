using System.Data.Common;
using Idempotency.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Idempotency.EntityFrameworkCore.Internal;

/// <summary>
/// One request's transaction on its own scoped context, so the handler's <c>SaveChanges</c> joins it. A begin runs the
/// store's statements inside it: an acquired record or slot is this transaction's uncommitted row, which a concurrent
/// begin of the same key waits on (at most the lock timeout, then it reports in flight).
/// </summary>
internal sealed class EntityFrameworkCoreStoreTransaction : IIdempotencyStoreTransaction
{
    private readonly EntityFrameworkCoreIdempotencyStore _store;
    private readonly DbContext _context;
    private readonly IDbContextTransaction _transaction;
    private readonly SqlDialect _dialect;
    private readonly StoreSql _sql;
    private readonly string? _lockTimeoutPrefix;
    private readonly string? _lockTimeoutSuffix;
    private long _reservedToken;
    private bool _committed;
    private bool _disposed;

    public EntityFrameworkCoreStoreTransaction(
        EntityFrameworkCoreIdempotencyStore store, DbContext context, IDbContextTransaction transaction, SqlDialect dialect, TimeSpan lockTimeout, long reservedToken)
    {
        _store = store;
        _context = context;
        _transaction = transaction;
        _dialect = dialect;
        _sql = StoreSql.For(dialect);
        _lockTimeoutPrefix = dialect.LockTimeoutStatement(lockTimeout) is { } statement ? statement + ";\n" : null;
        _lockTimeoutSuffix = dialect.LockTimeoutReset is { } reset ? ";\n" + reset : null;
        _reservedToken = reservedToken;
    }

    private DbConnection Connection => _context.Database.GetDbConnection();

    private DbTransaction DbTransaction => _transaction.GetDbTransaction();

    public async ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        StoreArguments.Positive(lease, nameof(lease));
        var token = await TakeTokenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await EntityFrameworkCoreIdempotencyStore.BeginRecordAsync(
                Connection, DbTransaction, WithLockTimeout(_sql.BeginRecord), key, fingerprint, lease, token, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException ex) when (_dialect.IsLockConflict(ex))
        {
            // Another transaction holds the record for longer than the lock timeout. PostgreSQL has aborted this
            // transaction; the caller rolls back a transaction that did not acquire.
            return IdempotencyBeginResult.InFlight();
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(_dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
    }

    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        StoreArguments.Complete(response, retention);
        try
        {
            return await EntityFrameworkCoreIdempotencyStore.CompleteRecordAsync(
                Connection, DbTransaction, _sql.CompleteRecordInTransaction, key, fencingToken, response, retention, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(_dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
    }

    public async ValueTask<SequenceBeginResult> TryBeginSequenceAsync(
        string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        StoreArguments.Sequence(epoch, sequenceNumber);
        StoreArguments.Positive(lease, nameof(lease));
        var token = await TakeTokenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await EntityFrameworkCoreIdempotencyStore.BeginStreamAsync(
                Connection, DbTransaction, _sql, WithLockTimeout(_sql.LockStream), streamKey, epoch, sequenceNumber, fingerprint, lease, token, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException ex) when (_dialect.IsLockConflict(ex))
        {
            return SequenceBeginResult.InFlight();
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(_dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
    }

    public async ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        StoreArguments.Complete(response, retention);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        try
        {
            return await EntityFrameworkCoreIdempotencyStore.CompleteStreamAsync(
                Connection, DbTransaction, _sql, _sql.ReadOwnedSlotInTransaction, streamKey, fencingToken, response, window, retention, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(_dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
    }

    public async ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            await _transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _committed = true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever failed, the outcome is not known to be a commit: the caller must not report success.
            throw StoreFailures.Unavailable(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_committed)
            {
                await _transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // The connection may be gone; the database rolls back what a lost connection left open.
            StoreLog.RollbackFailed(_store.Logger, _store.Contexts.ContextName, ex);
        }

        try
        {
            // Ends EF Core's transaction on the context (which DI owns and disposes), so the context can be used again.
            await _transaction.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            StoreLog.RollbackFailed(_store.Logger, _store.Contexts.ContextName, ex);
        }

        if (!_committed)
        {
            // The change tracker still holds what the handler wrote: rows it saved, now rolled back, as if they were in
            // the database, and changes it had not saved yet. Code that saves through this context later in the same
            // request (an exception handler's error log, say) would otherwise commit the failed handler's unsaved
            // changes on its own.
            _context.ChangeTracker.Clear();
        }

        try
        {
            // The store opened the connection before it began (EF Core counts opens: this closes only what it opened).
            await _context.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            StoreLog.RollbackFailed(_store.Logger, _store.Contexts.ContextName, ex);
        }
    }

    private ValueTask<long> TakeTokenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_reservedToken != 0)
        {
            var token = _reservedToken;
            _reservedToken = 0;
            return new(token);
        }

        return _store.Tokens.NextAsync(cancellationToken);
    }

    /// <summary>
    /// A begin's statement between the lock timeout and its reset, in the same round trip: the bound is for waiting on
    /// another request's record or stream, not for the handler's own writes, which wait for their locks as they would
    /// without idempotency.
    /// </summary>
    private string WithLockTimeout(string commandText)
        => _lockTimeoutPrefix is { } prefix ? prefix + commandText + _lockTimeoutSuffix : commandText;
}
