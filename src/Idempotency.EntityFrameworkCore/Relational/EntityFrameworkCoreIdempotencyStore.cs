using System.Buffers;
using System.Data.Common;
using Idempotency.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// The store: keyed records here, sequence streams in <c>.Streams.cs</c>, request transactions in
/// <see cref="EntityFrameworkCoreStoreTransaction"/>. Each non-transactional operation runs on a short-lived context of
/// its own; the statements are <see cref="StoreSql"/>'s. See readme.md.
/// </summary>
internal sealed partial class EntityFrameworkCoreIdempotencyStore : IIdempotencySequenceStore, IIdempotencyTransactionalStore
{
    // A begin retries when the record it just saw vanished (purged) or expired between its two statements.
    private const int MaxBeginAttempts = 8;

    private readonly StoreContextSource _contexts;
    private readonly FencingTokenSource _tokens;
    private readonly ILogger _logger;

    public EntityFrameworkCoreIdempotencyStore(
        StoreContextSource contexts, ILogger<EntityFrameworkCoreIdempotencyStore> logger, IOptions<IdempotencyOptions>? idempotencyOptions = null)
    {
        _contexts = contexts;
        _tokens = new FencingTokenSource(contexts);
        _logger = logger;
        ResponseOptions = idempotencyOptions?.Value ?? new IdempotencyOptions();
    }

    /// <summary>How snapshots are written and read: protection and compression (see <see cref="StoredResponseSerializer"/>).</summary>
    internal IdempotencyOptions ResponseOptions { get; }

    internal StoreContextSource Contexts => _contexts;

    internal FencingTokenSource Tokens => _tokens;

    internal ILogger Logger => _logger;

    public async ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        StoreArguments.Positive(lease, nameof(lease));
        var token = await _tokens.NextAsync(cancellationToken).ConfigureAwait(false);
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await BeginRecordAsync(session.Connection, null, session.Sql.BeginRecord, key, fingerprint, lease, token, ResponseOptions, cancellationToken).ConfigureAwait(false);
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

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        StoreArguments.Positive(lease, nameof(lease));
        return RunFencedAsync(static sql => sql.RenewRecord, key, fencingToken, lease, cancellationToken);
    }

    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        StoreArguments.Complete(response, retention);
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CompleteRecordAsync(session.Connection, null, session.Sql.CompleteRecord, key, fencingToken, response, retention, ResponseOptions, cancellationToken).ConfigureAwait(false);
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

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
    {
        StoreArguments.Key(key, nameof(key));
        return RunFencedAsync(static sql => sql.ReleaseRecord, key, fencingToken, lease: null, cancellationToken);
    }

    /// <summary>
    /// One fenced statement on a connection of the store's own (a renewal or release of a record or of a stream's
    /// slot): whether it touched the row, which it does only for the owner of <paramref name="fencingToken"/>.
    /// </summary>
    private async ValueTask<bool> RunFencedAsync(Func<StoreSql, string> statement, string key, long fencingToken, TimeSpan? lease, CancellationToken cancellationToken)
    {
        var session = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = StoreCommands.Create(session.Connection, null, statement(session.Sql));
            StoreCommands.Add(command, StoreSql.Key, key);
            StoreCommands.Add(command, StoreSql.Token, fencingToken);
            if (lease is { } duration)
            {
                StoreCommands.Add(command, StoreSql.Duration, StoreCommands.Milliseconds(duration));
            }

            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
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

    public async ValueTask<IIdempotencyStoreTransaction> BeginTransactionAsync(IServiceProvider requestServices, TimeSpan lockTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestServices);
        ArgumentOutOfRangeException.ThrowIfLessThan(lockTimeout, TimeSpan.Zero);
        var dialect = _contexts.Dialect;
        var context = _contexts.GetRequestContext(requestServices);
        if (context.Database.CurrentTransaction is not null)
        {
            throw new InvalidOperationException(
                $"The request's {_contexts.ContextName} already has a transaction: a transactional idempotency policy opens the request's transaction itself, before the handler runs, and the handler's SaveChanges joins it. Do not begin a transaction of your own in such a handler.");
        }

        // Resolved after the context, so the scope disposes it first: it waits for this begin even if our caller stops
        // waiting, and ends the transaction before the context goes.
        var holder = requestServices.GetRequiredService<RequestTransactionHolder>();
        var begin = BeginTransactionCoreAsync(context, dialect, lockTimeout, cancellationToken);
        holder.Hold(begin);
        return await begin.ConfigureAwait(false);
    }

    private async Task<EntityFrameworkCoreStoreTransaction> BeginTransactionCoreAsync(DbContext context, SqlDialect dialect, TimeSpan lockTimeout, CancellationToken cancellationToken)
    {
        // Taken before the transaction begins: a block reservation runs on a connection of its own, and on SQLite that
        // connection would wait for the write lock this very transaction holds.
        var token = await _tokens.NextAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Opened here (and closed when the transaction ends) so the dialect's connection setup runs before BEGIN;
            // a failed or cancelled open closes what it opened.
            await StoreConnections.OpenAsync(context, dialect, cancellationToken).ConfigureAwait(false);
            IDbContextTransaction transaction;
            try
            {
                transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await StoreConnections.CloseAsync(context, _logger, _contexts.ContextName).ConfigureAwait(false);
                throw;
            }

            return new EntityFrameworkCoreStoreTransaction(this, context, transaction, dialect, lockTimeout, token);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(dialect, ex, cancellationToken))
        {
            throw StoreFailures.Unavailable(ex);
        }
    }

    /// <summary>
    /// Runs <see cref="StoreSql.BeginRecord"/> (or <paramref name="commandText"/>, the same with a prefix) until the
    /// record it reads is live or the caller's.
    /// </summary>
    internal static async ValueTask<IdempotencyBeginResult> BeginRecordAsync(
        DbConnection connection, DbTransaction? transaction, string commandText, string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, long token, IdempotencyOptions responseOptions, CancellationToken cancellationToken)
    {
        var fingerprintBytes = StoreCommands.ToArray(fingerprint);
        var leaseMilliseconds = StoreCommands.Milliseconds(lease);
        for (var attempt = 1; ; attempt++)
        {
            await using var command = StoreCommands.Create(connection, transaction, commandText);
            StoreCommands.Add(command, StoreSql.Key, key);
            StoreCommands.Add(command, StoreSql.Fingerprint, fingerprintBytes);
            StoreCommands.Add(command, StoreSql.Token, token);
            StoreCommands.Add(command, StoreSql.Duration, leaseMilliseconds);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.GetInt64(2) == token)
                {
                    return IdempotencyBeginResult.Acquired(token);
                }

                if (reader.GetBoolean(3))
                {
                    var stored = reader.GetFieldValue<byte[]>(0);
                    if (!fingerprint.Span.SequenceEqual(stored))
                    {
                        return IdempotencyBeginResult.FingerprintMismatch();
                    }

                    var state = reader.GetInt16(1);
                    switch (state)
                    {
                        case Schema.Records.InFlight:
                            return IdempotencyBeginResult.InFlight();
                        case Schema.Records.Completed when !reader.IsDBNull(4):
                            return IdempotencyBeginResult.Completed(ReadResponse(reader.GetFieldValue<byte[]>(4), responseOptions));
                        default:
                            throw new InvalidDataException($"The idempotency record has state {state}{(reader.IsDBNull(4) ? " and no response" : "")}, which this version of the store does not read.");
                    }
                }
            }

            if (attempt == MaxBeginAttempts)
            {
                // Purged or expired between the two statements every time: something keeps deleting it; report it busy.
                return IdempotencyBeginResult.InFlight();
            }

            // Repeating a transaction's lock-timeout prefix is harmless: it sets the same value.
        }
    }

    internal static async ValueTask<bool> CompleteRecordAsync(
        DbConnection connection, DbTransaction? transaction, string commandText, string key, long fencingToken, StoredResponse response, TimeSpan retention, IdempotencyOptions responseOptions, CancellationToken cancellationToken)
    {
        await using var command = CreateCompletion(connection, transaction, commandText, key, fencingToken, response, retention, responseOptions);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>A record's completion (<see cref="StoreSql.CompleteRecord"/> or one of its variants) with its parameters.</summary>
    internal static DbCommand CreateCompletion(
        DbConnection connection, DbTransaction? transaction, string commandText, string key, long fencingToken, StoredResponse response, TimeSpan retention, IdempotencyOptions responseOptions)
    {
        var command = StoreCommands.Create(connection, transaction, commandText);
        StoreCommands.Add(command, StoreSql.Key, key);
        StoreCommands.Add(command, StoreSql.Token, fencingToken);
        StoreCommands.Add(command, StoreSql.Response, StoredResponseSerializer.Serialize(response, responseOptions));
        StoreCommands.Add(command, StoreSql.Duration, StoreCommands.Milliseconds(retention));
        return command;
    }

    /// <summary>The response's body refers to <paramref name="bytes"/> (or, protected, to the unprotected copy), which nobody else holds.</summary>
    internal static StoredResponse ReadResponse(byte[] bytes, IdempotencyOptions responseOptions) => StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(bytes), responseOptions);

    private async ValueTask<Session> OpenAsync(CancellationToken cancellationToken)
    {
        var dialect = _contexts.Dialect;
        var lease = _contexts.Create();
        try
        {
            await StoreConnections.OpenAsync(lease.Context, dialect, cancellationToken).ConfigureAwait(false);
            return new Session(lease, dialect);
        }
        catch (Exception ex)
        {
            await lease.DisposeAsync().ConfigureAwait(false);
            if (StoreFailures.IsUnavailable(dialect, ex, cancellationToken))
            {
                throw StoreFailures.Unavailable(ex);
            }

            throw;
        }
    }

    /// <summary>One operation's own context and its open connection.</summary>
    private readonly struct Session(ContextLease lease, SqlDialect dialect)
    {
        public DbConnection Connection { get; } = lease.Context.Database.GetDbConnection();

        public SqlDialect Dialect { get; } = dialect;

        public StoreSql Sql => StoreSql.For(Dialect);

        public DbContext Context => lease.Context;

        public ValueTask DisposeAsync() => lease.DisposeAsync();
    }
}
