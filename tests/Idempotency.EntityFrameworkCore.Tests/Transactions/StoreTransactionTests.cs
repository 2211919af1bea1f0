using System.Text;
using Idempotency.EntityFrameworkCore.Relational;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Idempotency.EntityFrameworkCore.Tests.Transactions;

/// <summary>The request transaction (transactional mode) on one provider: the record commits, or not, with the handler's writes.</summary>
public abstract class StoreTransactionTests(StoreDatabase database) : IAsyncLifetime
{
    protected static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    protected static readonly TimeSpan Retention = TimeSpan.FromMinutes(5);
    protected static readonly TimeSpan LongLockTimeout = TimeSpan.FromSeconds(20);
    private static readonly byte[] s_fingerprint = Encoding.ASCII.GetBytes("fingerprint-of-the-request");

    private ServiceProvider _services = null!;
    private EntityFrameworkCoreIdempotencyStore _store = null!;

    protected StoreDatabase Database => database;

    private protected EntityFrameworkCoreIdempotencyStore Store => _store;

    public Task InitializeAsync()
    {
        _services = database.CreateServices();
        _store = database.CreateStore(_services);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    protected static string NewKey() => Guid.NewGuid().ToString("N");

    protected static StoredResponse Response(string body)
        => new(201, [new("Content-Type", new StringValues("text/plain"))], Encoding.UTF8.GetBytes(body), isBodyStored: true);

    protected AsyncServiceScope NewRequest() => _services.CreateAsyncScope();

    protected static TestDbContext ContextOf(AsyncServiceScope request) => request.ServiceProvider.GetRequiredService<TestDbContext>();

    protected async Task<IIdempotencyStoreTransaction> BeginAsync(AsyncServiceScope request, TimeSpan? lockTimeout = null)
        => await _store.BeginTransactionAsync(request.ServiceProvider, lockTimeout ?? LongLockTimeout, CancellationToken.None);

    protected static async Task<long> AcquireAsync(IIdempotencyStoreTransaction transaction, string key)
    {
        var begin = await transaction.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, begin.Status);
        return begin.FencingToken;
    }

    /// <summary>A second request's begin, on a thread of its own: on SQLite its transaction waits for the write lock as it begins.</summary>
    private Task<IdempotencyBeginResult> BeginConcurrentlyAsync(string key, TimeSpan lockTimeout) => Task.Run(async () =>
    {
        await using var request = NewRequest();
        await using var transaction = await BeginAsync(request, lockTimeout);
        return await transaction.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None);
    });

    private async Task<long> LedgerCountAsync(string id)
    {
        await using var context = database.CreateContext();
        return await context.Ledger.CountAsync(e => e.Id == id);
    }

    [Fact]
    public async Task A_concurrent_begin_of_the_same_key_waits_for_the_commit_and_then_replays()
    {
        var key = NewKey();
        await using var first = NewRequest();
        await using var transaction = await BeginAsync(first);
        var token = await AcquireAsync(transaction, key);

        var second = BeginConcurrentlyAsync(key, LongLockTimeout);
        await Task.Delay(300);
        Assert.False(second.IsCompleted, "The second begin must wait while the first transaction holds the record.");

        Assert.True(await transaction.CompleteAsync(key, token, Response("first"), Retention, CancellationToken.None));
        await transaction.CommitAsync(CancellationToken.None);

        var replay = await second.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
        Assert.Equal("first", Encoding.UTF8.GetString(replay.Response!.Body.Span));
    }

    [Fact]
    public async Task A_concurrent_begin_of_the_same_key_acquires_after_a_rollback()
    {
        var key = NewKey();
        var first = NewRequest();
        var transaction = await BeginAsync(first);
        var token = await AcquireAsync(transaction, key);

        var second = BeginConcurrentlyAsync(key, LongLockTimeout);
        await Task.Delay(300);
        Assert.False(second.IsCompleted);

        await transaction.DisposeAsync();
        await first.DisposeAsync();

        var retry = await second.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(IdempotencyBeginStatus.Acquired, retry.Status);
        Assert.NotEqual(token, retry.FencingToken);
    }

    [Fact]
    public async Task A_completed_and_committed_record_replays_through_the_non_transactional_store()
    {
        var key = NewKey();
        await using (var request = NewRequest())
        {
            await using var transaction = await BeginAsync(request);
            var token = await AcquireAsync(transaction, key);
            Assert.True(await transaction.CompleteAsync(key, token, Response("committed"), Retention, CancellationToken.None));
            await transaction.CommitAsync(CancellationToken.None);
        }

        var replay = await Store.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
        Assert.Equal(201, replay.Response!.StatusCode);
        Assert.Equal("committed", Encoding.UTF8.GetString(replay.Response.Body.Span));
    }

    [Fact]
    public async Task Disposing_without_a_commit_leaves_neither_the_record_nor_the_handlers_writes()
    {
        var key = NewKey();
        await using (var request = NewRequest())
        {
            await using var transaction = await BeginAsync(request);
            var token = await AcquireAsync(transaction, key);
            var context = ContextOf(request);
            context.Ledger.Add(new LedgerEntry { Id = key, Amount = 10 });
            await context.SaveChangesAsync();
            Assert.True(await transaction.CompleteAsync(key, token, Response("lost"), Retention, CancellationToken.None));

            // Disposed without a commit: the handler's answer never left, and nothing of it may stay.
        }

        Assert.Equal(0, await LedgerCountAsync(key));
        var next = await Store.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, next.Status);
    }

    [Fact]
    public async Task The_handlers_writes_commit_with_the_record()
    {
        var key = NewKey();
        await using (var request = NewRequest())
        {
            await using var transaction = await BeginAsync(request);
            var token = await AcquireAsync(transaction, key);
            var context = ContextOf(request);
            context.Ledger.Add(new LedgerEntry { Id = key, Amount = 10 });
            await context.SaveChangesAsync();
            Assert.True(await transaction.CompleteAsync(key, token, Response("paid"), Retention, CancellationToken.None));
            await transaction.CommitAsync(CancellationToken.None);

            // The context is the request's: DI disposes it, and it works on after the transaction ended.
            Assert.Null(context.Database.CurrentTransaction);
            Assert.Equal(1, await context.Ledger.CountAsync(e => e.Id == key));
        }

        Assert.Equal(1, await LedgerCountAsync(key));
        Assert.Equal(IdempotencyBeginStatus.Completed, (await Store.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_completion_with_a_token_the_transaction_does_not_hold_commits_nothing()
    {
        var key = NewKey();
        await using (var request = NewRequest())
        {
            var context = ContextOf(request);
            await using (var transaction = await BeginAsync(request))
            {
                var token = await AcquireAsync(transaction, key);
                context.Ledger.Add(new LedgerEntry { Id = key, Amount = 10 });
                await context.SaveChangesAsync();

                // Either the completion says it was fenced (and the caller never commits), or, where it is sent with
                // the COMMIT (PostgreSQL), the commit fails: never a commit of the writes without the completed record.
                if (await transaction.CompleteAsync(key, token + 1, Response("stale"), Retention, CancellationToken.None))
                {
                    await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(() => transaction.CommitAsync(CancellationToken.None).AsTask());
                }
            }

            // The request's context and its connection work on after the failed commit was rolled back.
            Assert.Null(context.Database.CurrentTransaction);
            Assert.Equal(0, await context.Ledger.CountAsync(e => e.Id == key));
        }

        Assert.Equal(0, await LedgerCountAsync(key));
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await Store.TryBeginAsync(key, s_fingerprint, Lease, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_context_that_already_has_a_transaction_is_refused()
    {
        await using var request = NewRequest();
        await using var own = await ContextOf(request).Database.BeginTransactionAsync();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () => await BeginAsync(request));
        Assert.Contains("already has a transaction", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sequence_number_applied_in_a_transaction_advances_the_stream_only_when_committed()
    {
        var stream = NewKey();
        await using (var request = NewRequest())
        {
            await using var transaction = await BeginAsync(request);
            var begin = await transaction.TryBeginSequenceAsync(stream, 0, 1, s_fingerprint, Lease, CancellationToken.None);
            Assert.Equal(SequenceBeginStatus.Acquired, begin.Status);
            Assert.True(await transaction.CompleteSequenceAsync(stream, begin.FencingToken, Response("one"), 16, Retention, CancellationToken.None));

            // Rolled back.
        }

        Assert.Equal(SequenceBeginStatus.Gap, (await Store.TryBeginSequenceAsync(stream, 0, 2, s_fingerprint, Lease, CancellationToken.None)).Status);

        await using (var request = NewRequest())
        {
            await using var transaction = await BeginAsync(request);
            var begin = await transaction.TryBeginSequenceAsync(stream, 0, 1, s_fingerprint, Lease, CancellationToken.None);
            Assert.Equal(SequenceBeginStatus.Acquired, begin.Status);
            Assert.True(await transaction.CompleteSequenceAsync(stream, begin.FencingToken, Response("one"), 16, Retention, CancellationToken.None));
            await transaction.CommitAsync(CancellationToken.None);
        }

        var replay = await Store.TryBeginSequenceAsync(stream, 0, 1, s_fingerprint, Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Completed, replay.Status);
        Assert.Equal("one", Encoding.UTF8.GetString(replay.Response!.Body.Span));
        Assert.Equal(SequenceBeginStatus.Acquired, (await Store.TryBeginSequenceAsync(stream, 0, 2, s_fingerprint, Lease, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_concurrent_begin_of_the_number_a_transaction_applies_waits_for_the_commit_and_then_replays()
    {
        var stream = NewKey();
        await using var first = NewRequest();
        await using var transaction = await BeginAsync(first);
        var token = await AcquireSequenceAsync(transaction, stream, 0, 1);

        var duplicate = BeginSequenceConcurrentlyAsync(stream, 0, 1, LongLockTimeout);
        await Task.Delay(300);
        Assert.False(duplicate.IsCompleted, "The duplicate's begin must wait while the first transaction holds the stream.");

        Assert.True(await transaction.CompleteSequenceAsync(stream, token, Response("one"), 16, Retention, CancellationToken.None));
        await transaction.CommitAsync(CancellationToken.None);

        var replay = await duplicate.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(SequenceBeginStatus.Completed, replay.Status);
        Assert.Equal("one", Encoding.UTF8.GetString(replay.Response!.Body.Span));
    }

    [Fact]
    public async Task A_concurrent_begin_of_the_next_number_waits_for_the_commit_and_then_acquires()
    {
        var stream = NewKey();
        await using var first = NewRequest();
        await using var transaction = await BeginAsync(first);
        var token = await AcquireSequenceAsync(transaction, stream, 0, 1);

        var next = BeginSequenceConcurrentlyAsync(stream, 0, 2, LongLockTimeout);
        await Task.Delay(300);
        Assert.False(next.IsCompleted, "The next number's begin must wait while the first transaction holds the stream.");

        Assert.True(await transaction.CompleteSequenceAsync(stream, token, Response("one"), 16, Retention, CancellationToken.None));
        await transaction.CommitAsync(CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Acquired, (await next.WaitAsync(TimeSpan.FromSeconds(30))).Status);
    }

    /// <summary>Applies <paramref name="sequence"/> of <paramref name="stream"/> in a committed transaction, answering <paramref name="body"/>.</summary>
    protected async Task ApplyAsync(string stream, long epoch, long sequence, string body)
    {
        await using var request = NewRequest();
        await using var transaction = await BeginAsync(request);
        var token = await AcquireSequenceAsync(transaction, stream, epoch, sequence);
        Assert.True(await transaction.CompleteSequenceAsync(stream, token, Response(body), 16, Retention, CancellationToken.None));
        await transaction.CommitAsync(CancellationToken.None);
    }

    protected static async Task<long> AcquireSequenceAsync(IIdempotencyStoreTransaction transaction, string stream, long epoch, long sequence)
    {
        var begin = await transaction.TryBeginSequenceAsync(stream, epoch, sequence, s_fingerprint, Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, begin.Status);
        return begin.FencingToken;
    }

    /// <summary>Another request's stream begin, on a thread of its own (see <see cref="BeginConcurrentlyAsync"/>).</summary>
    private Task<SequenceBeginResult> BeginSequenceConcurrentlyAsync(string stream, long epoch, long sequence, TimeSpan lockTimeout) => Task.Run(async () =>
    {
        await using var request = NewRequest();
        await using var transaction = await BeginAsync(request, lockTimeout);
        return await transaction.TryBeginSequenceAsync(stream, epoch, sequence, s_fingerprint, Lease, CancellationToken.None);
    });
}

[Collection(SqliteCollection.Name)]
public sealed class SqliteStoreTransactionTests(SqliteDatabase database) : StoreTransactionTests(database)
{
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStoreTransactionTests(PostgreSqlDatabase database) : StoreTransactionTests(database)
{
    /// <summary>
    /// Duplicates of a completed request must all replay, however many arrive at once: a begin that finds a live
    /// completed record may not lock it (INSERT ... ON CONFLICT DO UPDATE locks the row it conflicts with even when its
    /// WHERE updates nothing), or every other duplicate's begin meets that lock, waits out its lock timeout and is told
    /// 409 in flight. On a starved machine each replay holds the lock for long, so 64 retrying duplicates kept one row
    /// locked nearly all the time and their clients gave up (the crash scenario's lost responses).
    /// </summary>
    [Fact]
    public async Task A_begin_that_replays_a_completed_record_does_not_lock_it_against_other_duplicates()
    {
        var key = NewKey();
        await using (var owner = NewRequest())
        {
            await using var transaction = await BeginAsync(owner);
            var token = await AcquireAsync(transaction, key);
            Assert.True(await transaction.CompleteAsync(key, token, Response("paid"), Retention, CancellationToken.None));
            await transaction.CommitAsync(CancellationToken.None);
        }

        // One duplicate's transaction has read the completed record and has not ended yet (its process is starved).
        await using var first = NewRequest();
        await using var replaying = await BeginAsync(first, TimeSpan.Zero);
        Assert.Equal(IdempotencyBeginStatus.Completed, (await replaying.TryBeginAsync(key, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None)).Status);

        // Another duplicate, with the shortest lock timeout, must replay too.
        await using var second = NewRequest();
        await using var duplicate = await BeginAsync(second, TimeSpan.Zero);
        var begin = await duplicate.TryBeginAsync(key, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Completed, begin.Status);
        Assert.Equal("paid", Encoding.UTF8.GetString(begin.Response!.Body.Span));
    }

    /// <summary>
    /// Duplicates of an applied sequence number must all replay, however many arrive at once: a stream begin that finds
    /// its number applied may not lock the stream (SELECT ... FOR UPDATE), or that lock lasts until the duplicate's
    /// request transaction ends, and every other duplicate, and the stream's next number, waits out its lock timeout and
    /// is told 409 in flight (the same starvation as a replaying key begin that locked its record).
    /// </summary>
    [Fact]
    public async Task A_begin_that_replays_an_applied_number_does_not_lock_the_stream_against_other_duplicates()
    {
        var stream = NewKey();
        await ApplyAsync(stream, 0, 1, "one");

        // One duplicate's transaction has read the applied number and has not ended yet (its process is starved).
        await using var first = NewRequest();
        await using var replaying = await BeginAsync(first, TimeSpan.Zero);
        Assert.Equal(SequenceBeginStatus.Completed, (await replaying.TryBeginSequenceAsync(stream, 0, 1, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None)).Status);

        // Another duplicate, with the shortest lock timeout, must replay too.
        await using var second = NewRequest();
        await using var duplicate = await BeginAsync(second, TimeSpan.Zero);
        var begin = await duplicate.TryBeginSequenceAsync(stream, 0, 1, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Completed, begin.Status);
        Assert.Equal("one", Encoding.UTF8.GetString(begin.Response!.Body.Span));
    }

    [Fact]
    public async Task A_begin_that_replays_an_applied_number_does_not_hold_up_the_next_number()
    {
        var stream = NewKey();
        await ApplyAsync(stream, 0, 1, "one");

        await using var first = NewRequest();
        await using var replaying = await BeginAsync(first, TimeSpan.Zero);
        Assert.Equal(SequenceBeginStatus.Completed, (await replaying.TryBeginSequenceAsync(stream, 0, 1, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None)).Status);

        await using var second = NewRequest();
        await using var next = await BeginAsync(second, TimeSpan.Zero);
        Assert.Equal(SequenceBeginStatus.Acquired, (await next.TryBeginSequenceAsync(stream, 0, 2, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None)).Status);
    }

    /// <summary>
    /// While the next number runs in its request transaction (which holds the stream's row until it commits), a
    /// duplicate of a number already applied has nothing to wait for: what it replays was committed before.
    /// </summary>
    [Fact]
    public async Task A_duplicate_of_an_applied_number_replays_while_the_next_number_runs_in_a_transaction()
    {
        var stream = NewKey();
        await ApplyAsync(stream, 0, 1, "one");

        await using var first = NewRequest();
        await using var running = await BeginAsync(first, TimeSpan.Zero);
        Assert.Equal(SequenceBeginStatus.Acquired, (await running.TryBeginSequenceAsync(stream, 0, 2, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None)).Status);

        await using var second = NewRequest();
        await using var duplicate = await BeginAsync(second, TimeSpan.Zero);
        var begin = await duplicate.TryBeginSequenceAsync(stream, 0, 1, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Completed, begin.Status);
        Assert.Equal("one", Encoding.UTF8.GetString(begin.Response!.Body.Span));
    }

    [Fact]
    public async Task An_older_epoch_is_fenced_without_waiting_for_the_transaction_that_holds_the_stream()
    {
        var stream = NewKey();
        await ApplyAsync(stream, 1, 1, "one");

        await using var first = NewRequest();
        await using var running = await BeginAsync(first, TimeSpan.Zero);
        Assert.Equal(SequenceBeginStatus.Acquired, (await running.TryBeginSequenceAsync(stream, 1, 2, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None)).Status);

        await using var second = NewRequest();
        await using var stale = await BeginAsync(second, TimeSpan.Zero);
        var begin = await stale.TryBeginSequenceAsync(stream, 0, 5, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.EpochFenced, begin.Status);
    }

    [Fact]
    public async Task A_begin_that_waits_longer_than_the_lock_timeout_reports_in_flight()
    {
        var key = NewKey();
        await using var first = NewRequest();
        await using var transaction = await BeginAsync(first);
        await AcquireAsync(transaction, key);

        await using var second = NewRequest();
        await using var waiting = await BeginAsync(second, TimeSpan.FromMilliseconds(100));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var begin = await waiting.TryBeginAsync(key, "fingerprint-of-the-request"u8.ToArray(), Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.InFlight, begin.Status);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"The begin waited {started.Elapsed}.");
    }

    [Fact]
    public Task The_lock_timeout_bounds_only_the_begin_and_the_handlers_writes_wait_for_their_locks()
        => HandlerWriteWaitsForAnotherWritersLockAsync(async (transaction, key) =>
        {
            var token = await AcquireAsync(transaction, key);
            return () => transaction.CompleteAsync(key, token, Response("paid"), Retention, CancellationToken.None);
        });

    [Fact]
    public Task The_lock_timeout_bounds_only_the_stream_begin_and_the_handlers_writes_wait_for_their_locks()
        => HandlerWriteWaitsForAnotherWritersLockAsync(async (transaction, stream) =>
        {
            var begin = await transaction.TryBeginSequenceAsync(stream, 0, 1, "f"u8.ToArray(), Lease, CancellationToken.None);
            Assert.Equal(SequenceBeginStatus.Acquired, begin.Status);
            return () => transaction.CompleteSequenceAsync(stream, begin.FencingToken, Response("one"), 16, Retention, CancellationToken.None);
        });

    /// <summary>
    /// A transaction that begins with the shortest lock timeout, then (as its handler) updates a row another
    /// transaction holds for 300 ms: the update must wait for it, not fail as a begin that timed out would.
    /// </summary>
    private async Task HandlerWriteWaitsForAnotherWritersLockAsync(
        Func<IIdempotencyStoreTransaction, string, Task<Func<ValueTask<bool>>>> acquire)
    {
        var account = NewKey();
        await using (var seed = Database.CreateContext())
        {
            seed.Ledger.Add(new LedgerEntry { Id = account, Amount = 0 });
            await seed.SaveChangesAsync();
        }

        await using var other = Database.CreateContext();
        await using var otherTransaction = await other.Database.BeginTransactionAsync();
        await other.Database.ExecuteSqlRawAsync("UPDATE ledger SET \"Amount\" = \"Amount\" + 1 WHERE \"Id\" = {0}", account);

        await using var request = NewRequest();
        await using var transaction = await BeginAsync(request, TimeSpan.Zero);
        var complete = await acquire(transaction, NewKey());
        var handlerWrite = ContextOf(request).Database.ExecuteSqlRawAsync("UPDATE ledger SET \"Amount\" = \"Amount\" + 10 WHERE \"Id\" = {0}", account);
        await Task.Delay(300);
        await otherTransaction.CommitAsync();

        Assert.Equal(1, await handlerWrite);
        Assert.True(await complete());
        await transaction.CommitAsync(CancellationToken.None);

        await using var check = Database.CreateContext();
        Assert.Equal(11, (await check.Ledger.SingleAsync(e => e.Id == account)).Amount);
    }

    [Fact]
    public async Task A_stream_held_by_a_transaction_reports_in_flight_after_the_lock_timeout()
    {
        var stream = NewKey();
        await using var first = NewRequest();
        await using var transaction = await BeginAsync(first);
        Assert.Equal(SequenceBeginStatus.Acquired, (await transaction.TryBeginSequenceAsync(stream, 0, 1, "f"u8.ToArray(), Lease, CancellationToken.None)).Status);

        await using var second = NewRequest();
        await using var waiting = await BeginAsync(second, TimeSpan.Zero);
        Assert.Equal(SequenceBeginStatus.InFlight, (await waiting.TryBeginSequenceAsync(stream, 0, 1, "f"u8.ToArray(), Lease, CancellationToken.None)).Status);
    }
}
