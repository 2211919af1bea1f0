using System.Data.Common;
using Idempotency.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Idempotency.EntityFrameworkCore.Relational;

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
    // One statement at a time, and none once the disposal began: a caller may stop waiting for a statement it
    // cancelled and dispose at once, while the statement is still on the connection (Npgsql then refuses the rollback,
    // "operation already in progress"). The disposal takes it and keeps it.
    private readonly SemaphoreSlim _operation = new(1, 1);
    private long _reservedToken;
    private PendingCompletion? _pendingCompletion;
    private bool _committed;
    private Task? _disposal;

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
        // The token comes from a connection of the store's own, outside this transaction's statements.
        var token = await TakeTokenAsync(cancellationToken).ConfigureAwait(false);
        await EnterAsync().ConfigureAwait(false);
        try
        {
            return await EntityFrameworkCoreIdempotencyStore.BeginRecordAsync(
                Connection, DbTransaction, WithLockTimeout(_sql.BeginRecord), key, fingerprint, lease, token, _store.ResponseOptions, cancellationToken).ConfigureAwait(false);
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
        finally
        {
            _operation.Release();
        }
    }

    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        StoreArguments.Complete(response, retention);
        await EnterAsync().ConfigureAwait(false);
        if (_dialect.CommitsWithLastStatement)
        {
            // Sent with the COMMIT, in one round trip (CommitAsync). The row is this transaction's own, so the
            // completion cannot be fenced; if it were, the statement fails and nothing commits.
            _pendingCompletion = new PendingCompletion(key, fencingToken, response, retention);
            _operation.Release();
            return true;
        }

        try
        {
            return await EntityFrameworkCoreIdempotencyStore.CompleteRecordAsync(
                Connection, DbTransaction, _sql.CompleteRecordInTransaction, key, fencingToken, response, retention, _store.ResponseOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(_dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            _operation.Release();
        }
    }

    public async ValueTask<SequenceBeginResult> TryBeginSequenceAsync(
        string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        StoreArguments.Sequence(epoch, sequenceNumber);
        StoreArguments.Positive(lease, nameof(lease));
        // The token comes from a connection of the store's own, outside this transaction's statements.
        var token = await TakeTokenAsync(cancellationToken).ConfigureAwait(false);
        await EnterAsync().ConfigureAwait(false);
        try
        {
            return await EntityFrameworkCoreIdempotencyStore.BeginStreamAsync(
                Connection, DbTransaction, _sql, WithLockTimeout(_sql.BeginStream), streamKey, epoch, sequenceNumber, fingerprint, lease, token, _store.ResponseOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException ex) when (_dialect.IsLockConflict(ex))
        {
            return SequenceBeginResult.InFlight();
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(_dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            _operation.Release();
        }
    }

    public async ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
    {
        StoreArguments.Key(streamKey, nameof(streamKey));
        StoreArguments.Complete(response, retention);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        await EnterAsync().ConfigureAwait(false);
        try
        {
            return await EntityFrameworkCoreIdempotencyStore.CompleteStreamAsync(
                Connection, DbTransaction, _sql, _sql.ReadOwnedSlotInTransaction, streamKey, fencingToken, response, window, retention, _store.ResponseOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(_dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            _operation.Release();
        }
    }

    public async ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        await EnterAsync().ConfigureAwait(false);
        try
        {
            if (_pendingCompletion is { } completion)
            {
                // The completion and the COMMIT in one command. Npgsql then knows the transaction ended (the server
                // says so after each batch), and disposing EF Core's transaction ends it on the context without a
                // rollback, as its commit would. EF Core's commit events (TransactionCommitted interceptors) do not fire.
                _pendingCompletion = null;
                await using (var command = EntityFrameworkCoreIdempotencyStore.CreateCompletion(
                    Connection, DbTransaction, _sql.CompleteRecordAndCommit, completion.Key, completion.FencingToken, completion.Response, completion.Retention, _store.ResponseOptions))
                {
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                _committed = true;
                await _transaction.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await _transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                _committed = true;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever failed, the outcome is not known to be a commit: the caller must not report success.
            throw StoreFailures.Unavailable(ex);
        }
        finally
        {
            _operation.Release();
        }
    }

    /// <summary>
    /// Rolls back unless committed, ends EF Core's transaction on the context and closes the connection the store
    /// opened, after any statement still running. Never throws; a second call (the request scope's
    /// <see cref="RequestTransactionHolder"/> after the middleware) waits for the first.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        var disposal = Volatile.Read(ref _disposal);
        if (disposal is null)
        {
            var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            disposal = Interlocked.CompareExchange(ref _disposal, mine.Task, null);
            if (disposal is null)
            {
                return new ValueTask(DisposeCoreAsync(mine));
            }
        }

        return new ValueTask(disposal);
    }

    private async Task DisposeCoreAsync(TaskCompletionSource done)
    {
        try
        {
            // A statement the caller stopped waiting for ends first (its token was cancelled, or it runs out its timeout).
            await _operation.WaitAsync().ConfigureAwait(false);
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
                // The change tracker still holds what the handler wrote: rows it saved, now rolled back, as if they
                // were in the database, and changes it had not saved yet. Code that saves through this context later in
                // the same request (an exception handler's error log, say) would otherwise commit the failed handler's
                // unsaved changes on its own.
                try
                {
                    _context.ChangeTracker.Clear();
                }
                catch (ObjectDisposedException)
                {
                    // The request's scope already disposed the context: nothing can save through it any more.
                }
            }

            // The store opened the connection before it began (EF Core counts opens: this closes only what it opened).
            await StoreConnections.CloseAsync(_context, _store.Logger, _store.Contexts.ContextName).ConfigureAwait(false);
        }
        finally
        {
            // Statements waiting to start find the transaction disposed.
            _operation.Release();
            done.SetResult();
        }
    }

    /// <summary>Waits for the statement before (the caller never runs two at once; a disposal may be under way).</summary>
    private async ValueTask EnterAsync()
    {
        ObjectDisposedException.ThrowIf(_disposal is not null, this);
        await _operation.WaitAsync().ConfigureAwait(false);
        if (_disposal is not null)
        {
            _operation.Release();
            throw new ObjectDisposedException(GetType().FullName);
        }
    }

    private ValueTask<long> TakeTokenAsync(CancellationToken cancellationToken)
    {
        if (_reservedToken != 0)
        {
            var token = _reservedToken;
            _reservedToken = 0;
            return new(token);
        }

        return _store.Tokens.NextAsync(cancellationToken);
    }

    /// <summary>A record's completion, sent with the COMMIT.</summary>
    private readonly record struct PendingCompletion(string Key, long FencingToken, StoredResponse Response, TimeSpan Retention);

    /// <summary>
    /// A begin's statement between the lock timeout and its reset, in the same round trip: the bound is for waiting on
    /// another request's record or stream, not for the handler's own writes, which wait for their locks as they would
    /// without idempotency.
    /// </summary>
    private string WithLockTimeout(string commandText)
        => _lockTimeoutPrefix is { } prefix ? prefix + commandText + _lockTimeoutSuffix : commandText;
}
