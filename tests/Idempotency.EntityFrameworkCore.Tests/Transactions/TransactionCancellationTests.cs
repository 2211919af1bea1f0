using System.Net;
using System.Net.Sockets;
using Idempotency.EntityFrameworkCore.Relational;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;

namespace Idempotency.EntityFrameworkCore.Tests.Transactions;

/// <summary>
/// A request transaction cancelled at every await (the middleware bounds a begin with a token and, when it fires,
/// stops waiting and disposes the transaction at once): the request's context must end usable or closed, its scope's
/// disposal must not throw, and no transaction may stay open on a pooled connection.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlTransactionCancellationTests(PostgreSqlDatabase database) : IAsyncLifetime
{
    private static readonly byte[] s_fingerprint = "fp"u8.ToArray();
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan LongLockTimeout = TimeSpan.FromSeconds(20);

    private readonly FakeLogger<EntityFrameworkCoreIdempotencyStore> _log = new();
    private ServiceProvider _services = null!;
    private EntityFrameworkCoreIdempotencyStore _store = null!;

    public Task InitializeAsync()
    {
        _services = database.CreateServices();
        _store = new EntityFrameworkCoreIdempotencyStore(new StoreContextSource<TestDbContext>(_services), _log);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    private static string NewKey() => Guid.NewGuid().ToString("N");

    /// <summary>As the middleware awaits a store call: bounded by the token it passed, without waiting for the call to end.</summary>
    private static async Task<T> AsTheMiddlewareAwaitsAsync<T>(ValueTask<T> operation, CancellationToken cancellationToken)
        => await operation.AsTask().WaitAsync(cancellationToken);

    private async Task<long> SessionsIdleInTransactionAsync()
    {
        await using var context = database.CreateContext();
        await context.Database.OpenConnectionAsync();
        await using var command = context.Database.GetDbConnection().CreateCommand();
        command.CommandText = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'";
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private async Task AssertNoTransactionLeftOpenAsync()
    {
        // The server sees a session's state a moment after the session changed it.
        for (var attempt = 0; attempt < 50 && await SessionsIdleInTransactionAsync() > 0; attempt++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(0, await SessionsIdleInTransactionAsync());
    }

    private void AssertNoRollbackFailed()
        => Assert.DoesNotContain(_log.Collector.GetSnapshot(), record => record.Id.Id == StoreLog.RollbackFailedId);

    [Fact]
    public async Task A_begin_cancelled_while_it_waits_on_another_transactions_record_leaves_the_context_usable()
    {
        var key = NewKey();
        await using var first = _services.CreateAsyncScope();
        await using (var holder = await _store.BeginTransactionAsync(first.ServiceProvider, LongLockTimeout, CancellationToken.None))
        {
            Assert.Equal(IdempotencyBeginStatus.Acquired, (await holder.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None)).Status);

            var second = _services.CreateAsyncScope();
            var context = second.ServiceProvider.GetRequiredService<TestDbContext>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var transaction = await _store.BeginTransactionAsync(second.ServiceProvider, LongLockTimeout, timeout.Token);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(
                () => AsTheMiddlewareAwaitsAsync(transaction.TryBeginAsync(key, s_fingerprint, Lease, timeout.Token), timeout.Token));

            // As the middleware does at once, while the cancelled statement may still be on the wire.
            await transaction.DisposeAsync();
            Assert.Null(context.Database.CurrentTransaction);
            Assert.Equal(0, await context.Ledger.CountAsync(e => e.Id == key));
            await second.DisposeAsync();
        }

        AssertNoRollbackFailed();
        await AssertNoTransactionLeftOpenAsync();
    }

    [Fact]
    public async Task A_begin_cancelled_while_its_connection_opens_leaves_the_request_scope_disposable()
    {
        // A server that accepts connections and never answers. Npgsql's open does not stop at the cancellation there, only
        // at its connection Timeout (3 s here): the scope's disposal waits for it instead of failing mid-open.
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var accepted = new List<Socket>();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await blackHole.AcceptSocketAsync());
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        });

        var port = ((IPEndPoint)blackHole.LocalEndpoint).Port;
        var unreachable = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = port, Timeout = 3 }.ConnectionString;
        await using var requestServices = new ServiceCollection()
            .AddDbContext<TestDbContext>(o => o.UseNpgsql(unreachable))
            .AddScoped<RequestTransactionHolder>()
            .BuildServiceProvider();

        var request = requestServices.CreateAsyncScope();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => AsTheMiddlewareAwaitsAsync(_store.BeginTransactionAsync(request.ServiceProvider, LongLockTimeout, timeout.Token), timeout.Token));
        await request.DisposeAsync();

        foreach (var socket in accepted)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task A_begin_with_a_cancelled_token_leaves_the_request_context_closed_and_usable()
    {
        await using var request = _services.CreateAsyncScope();
        var context = request.ServiceProvider.GetRequiredService<TestDbContext>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await _store.BeginTransactionAsync(request.ServiceProvider, LongLockTimeout, new CancellationToken(canceled: true)));
        Assert.Equal(System.Data.ConnectionState.Closed, context.Database.GetDbConnection().State);
        Assert.Null(context.Database.CurrentTransaction);
        var key = NewKey();
        Assert.Equal(0, await context.Ledger.CountAsync(e => e.Id == key));
    }

    [Fact]
    public async Task Concurrent_requests_cancelled_at_random_points_leave_no_transaction_open_and_every_scope_disposable()
    {
        var keys = new[] { NewKey(), NewKey(), NewKey() };
        var random = new Random(20261203);
        var delays = new int[48];
        for (var i = 0; i < delays.Length; i++)
        {
            delays[i] = random.Next(0, 60);
        }

        var requests = new Task[delays.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            var key = keys[i % keys.Length];
            var cancelAfter = TimeSpan.FromMilliseconds(delays[i]);
            requests[i] = Task.Run(() => RequestAsync(key, cancelAfter));
        }

        // Every request ends with its scope disposed; none may throw anything but a cancellation or unavailability.
        await Task.WhenAll(requests);
        await AssertNoTransactionLeftOpenAsync();

        // The records commit with their ledger rows or not at all.
        await using var check = database.CreateContext();
        foreach (var key in keys)
        {
            var completed = await check.Database.SqlQueryRaw<long>(
                $"SELECT count(*) AS \"Value\" FROM {Schema.Records.Table} WHERE {Schema.Records.Key} = {{0}} AND {Schema.Records.State} = {Schema.Records.Completed}", key).SingleAsync();
            Assert.Equal(completed, await check.Ledger.CountAsync(e => e.Id == key));
        }
    }

    [Fact]
    public async Task Commits_cancelled_at_random_points_leave_no_transaction_open_and_commit_record_and_writes_together()
    {
        // The completion goes to PostgreSQL with the COMMIT, in one command: cancelled before, during or after it, and
        // the transaction disposed at once (as when the engine gives up on a commit), nothing may stay open holding the
        // record's row, and the record and the ledger row commit together or not at all.
        var random = new Random(20261204);
        var requests = new Task<string>[32];
        for (var i = 0; i < requests.Length; i++)
        {
            var cancelAfter = TimeSpan.FromMilliseconds(random.Next(0, 25));
            requests[i] = Task.Run(() => CommitCancelledAsync(cancelAfter));
        }

        var keys = await Task.WhenAll(requests);
        await AssertNoTransactionLeftOpenAsync();

        await using var check = database.CreateContext();
        foreach (var key in keys)
        {
            var completed = await check.Database.SqlQueryRaw<long>(
                $"SELECT count(*) AS \"Value\" FROM {Schema.Records.Table} WHERE {Schema.Records.Key} = {{0}} AND {Schema.Records.State} = {Schema.Records.Completed}", key).SingleAsync();
            Assert.Equal(completed, await check.Ledger.CountAsync(e => e.Id == key));

            // Whatever the outcome, the key is free at once: replayed if it committed, acquired if not.
            var begin = await _store.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None);
            Assert.Equal(completed == 1 ? IdempotencyBeginStatus.Completed : IdempotencyBeginStatus.Acquired, begin.Status);
        }
    }

    [Fact]
    public async Task A_request_scope_disposed_synchronously_rolls_back_its_transaction()
    {
        var key = NewKey();
        var request = _services.CreateScope();
        var transaction = await _store.BeginTransactionAsync(request.ServiceProvider, LongLockTimeout, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await transaction.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None)).Status);

        request.Dispose();

        await AssertNoTransactionLeftOpenAsync();
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await _store.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None)).Status);
    }

    /// <summary>One request that acquires, writes and completes, its commit bounded by <paramref name="cancelAfter"/>; returns its key.</summary>
    private async Task<string> CommitCancelledAsync(TimeSpan cancelAfter)
    {
        var key = NewKey();
        await using var scope = _services.CreateAsyncScope();
        var transaction = await _store.BeginTransactionAsync(scope.ServiceProvider, TimeSpan.FromMilliseconds(20), CancellationToken.None);
        try
        {
            var begin = await transaction.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.Acquired, begin.Status);
            var context = scope.ServiceProvider.GetRequiredService<TestDbContext>();
            context.Ledger.Add(new LedgerEntry { Id = key, Amount = 1 });
            await context.SaveChangesAsync();
            Assert.True(await transaction.CompleteAsync(key, begin.FencingToken, new StoredResponse(201, [], "paid"u8.ToArray(), isBodyStored: true), Lease, CancellationToken.None));
            using var timeout = new CancellationTokenSource(cancelAfter);
            await AsTheMiddlewareAwaitsAsync(Committed(transaction.CommitAsync(timeout.Token)), timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IdempotencyStoreUnavailableException)
        {
        }
        finally
        {
            await transaction.DisposeAsync();
        }

        return key;

        static async ValueTask<bool> Committed(ValueTask commit)
        {
            await commit;
            return true;
        }
    }

    /// <summary>One request as the middleware runs it in transactional mode, its begin bounded by <paramref name="cancelAfter"/>.</summary>
    private async Task RequestAsync(string key, TimeSpan cancelAfter)
    {
        var scope = _services.CreateAsyncScope();
        try
        {
            using var timeout = new CancellationTokenSource(cancelAfter);
            IIdempotencyStoreTransaction? transaction = null;
            try
            {
                transaction = await AsTheMiddlewareAwaitsAsync(_store.BeginTransactionAsync(scope.ServiceProvider, TimeSpan.FromMilliseconds(20), timeout.Token), timeout.Token);
                var begin = await AsTheMiddlewareAwaitsAsync(transaction.TryBeginAsync(key, s_fingerprint, Lease, timeout.Token), timeout.Token);
                if (begin.Status != IdempotencyBeginStatus.Acquired)
                {
                    return;
                }

                var context = scope.ServiceProvider.GetRequiredService<TestDbContext>();
                context.Ledger.Add(new LedgerEntry { Id = key, Amount = 1 });
                await context.SaveChangesAsync();
                var response = new StoredResponse(201, [], "paid"u8.ToArray(), isBodyStored: true);
                Assert.True(await transaction.CompleteAsync(key, begin.FencingToken, response, Lease, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
                await transaction.CommitAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception ex) when (ex is OperationCanceledException or IdempotencyStoreUnavailableException)
            {
            }
            finally
            {
                if (transaction is not null)
                {
                    await transaction.DisposeAsync();
                }
            }
        }
        finally
        {
            await scope.DisposeAsync();
        }
    }
}
