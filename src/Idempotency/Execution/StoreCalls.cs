using System.Diagnostics;
using System.Runtime.CompilerServices;
using Idempotency.Diagnostics;
using Idempotency.LocalReplay;
using Idempotency.Policies;
using Idempotency.Storage;
using Microsoft.Extensions.Options;

namespace Idempotency.Execution;

/// <summary>
/// Every call the engine makes to the store, in one place: which store operation a record or a stream needs, how
/// long it may take (<see cref="IdempotencyOptions.StoreTimeout"/>), how it is timed and traced, and which
/// cancellation it listens to. None listens to the request's or the caller's cancellation: an abort half-way through
/// a store operation could leave a record acquired by nobody until its lease ran out, or in flight although its
/// operation already took effect. The local replay cache sits here too, in front of whichever store is registered:
/// a key-mode begin of a policy that uses it asks the cache first and feeds it what the store answers.
/// </summary>
internal sealed class StoreCalls
{
    private readonly IIdempotencyStore _store;
    private readonly IIdempotencySequenceStore? _sequenceStore;
    private readonly IIdempotencyTransactionalStore? _transactionalStore;
    private readonly IdempotencyTelemetry _telemetry;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _storeTimeout;
    private readonly LocalReplayCache _localReplay;

    public StoreCalls(IIdempotencyStore store, IdempotencyTelemetry telemetry, IOptions<IdempotencyOptions> options, TimeProvider timeProvider, LocalReplayCache localReplay)
    {
        _localReplay = localReplay;
        _store = store;
        _sequenceStore = store as IIdempotencySequenceStore;
        _transactionalStore = store as IIdempotencyTransactionalStore;
        _telemetry = telemetry;
        _timeProvider = timeProvider;
        _storeTimeout = options.Value.StoreTimeout;
    }

    public IdempotencyTelemetry Telemetry => _telemetry;

    // Start-up refuses a policy that needs sequences on a store without them (StoreRequirementsValidator); this only
    // guards an application that skipped start-up validation.
    private IIdempotencySequenceStore SequenceStore => _sequenceStore ?? throw new InvalidOperationException(
        $"The registered idempotency store {_store.GetType().Name} does not implement {nameof(IIdempotencySequenceStore)}, which policies with sequence numbers need.");

    private IIdempotencyTransactionalStore TransactionalStore => _transactionalStore ?? throw new InvalidOperationException(
        $"The registered idempotency store {_store.GetType().Name} does not implement {nameof(IIdempotencyTransactionalStore)}, which transactional policies need.");

    /// <summary>
    /// Begins <paramref name="target"/>: in the store, or, under a transactional policy, in a new transaction on the
    /// request's unit of work (resolved from <paramref name="services"/>), which an acquisition hands to its owner.
    /// </summary>
    public ValueTask<BeginResult> BeginAsync(in StoreTarget target, ResolvedPolicy policy, IServiceProvider? services)
        => policy.UseLocalReplayCache && !target.IsStream
            ? BeginThroughLocalReplayAsync(target, policy, services)
            : BeginInStoreAsync(target, policy, services);

    private ValueTask<BeginResult> BeginInStoreAsync(in StoreTarget target, ResolvedPolicy policy, IServiceProvider? services)
        => policy.Transactional ? BeginInTransactionAsync(target, policy, services) : BeginAsync(target, policy);

    // A hit answers as the store would have for the record it cached (replay, or 422 for another fingerprint) without
    // allocating. Only a completed record is cached: every other answer (in flight, acquired, mismatch, a failure)
    // can change with the next request, and a mismatch says nothing about which fingerprint the record has.
    private ValueTask<BeginResult> BeginThroughLocalReplayAsync(in StoreTarget target, ResolvedPolicy policy, IServiceProvider? services)
    {
        if (_localReplay.Find(target.Key, policy.Name) is { } entry)
        {
            return new ValueTask<BeginResult>(BeginResult.From(entry.Matches(target.Fingerprint)
                ? IdempotencyBeginResult.Completed(entry.Response)
                : IdempotencyBeginResult.FingerprintMismatch()));
        }

        var ticket = _localReplay.Start();
        var begin = BeginInStoreAsync(target, policy, services);
        if (!begin.IsCompletedSuccessfully)
        {
            return RememberAsync(begin, ticket, target.Key, target.Fingerprint, policy.Retention);
        }

        // Consumed once: a completed ValueTask may be a pooled source that its first result recycles.
        var result = begin.Result;
        Remember(result, ticket, target.Key, target.Fingerprint, policy.Retention);
        return new ValueTask<BeginResult>(result);
    }

[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<BeginResult> RememberAsync(ValueTask<BeginResult> begin, LocalReplayTicket ticket, string key, byte[] fingerprint, TimeSpan retention)
    {
        var result = await begin.ConfigureAwait(false);
        Remember(result, ticket, key, fingerprint, retention);
        return result;
    }

    private void Remember(in BeginResult begin, in LocalReplayTicket ticket, string key, byte[] fingerprint, TimeSpan retention)
    {
        if (begin.Decision == BeginDecision.Completed)
        {
            _localReplay.Add(ticket, key, fingerprint, begin.Response!, retention);
        }
    }

    // A begin is not tied to the request's cancellation: an abort half-way through a store operation could leave a
    // record acquired by nobody until its lease ran out. StoreTimeout bounds it instead, and also cancels it: once the
    // client has been told 503 ("not processed, retry"), a begin still waiting inside the store (for example for a
    // connection to a Redis that was down) must not reach the store later, or it would create a record nobody owns and
    // answer that retry with 409 until the lease ran out.
    private ValueTask<BeginResult> BeginAsync(in StoreTarget target, ResolvedPolicy policy)
    {
        // Armed only if the store does not answer at once (WaitForBeginAsync). A source made with a time provider
        // allocates its timer even for an infinite delay; on the system clock, CancelAfter makes the same timer when
        // it is needed, so a begin the in-memory store answers at once costs none.
        var timeout = _timeProvider == TimeProvider.System
            ? new CancellationTokenSource()
            : new CancellationTokenSource(Timeout.InfiniteTimeSpan, _timeProvider);
        try
        {
            return BeginAsync(target, policy, timeout);
        }
        catch
        {
            // A store that throws instead of returning a faulted task: nothing waits on the timer.
            timeout.Dispose();
            throw;
        }
    }

    private ValueTask<BeginResult> BeginAsync(in StoreTarget target, ResolvedPolicy policy, CancellationTokenSource timeout)
    {
        var started = _timeProvider.GetTimestamp();
        if (target.IsStream)
        {
            var sequence = _telemetry.TimeStoreCall(
                Stopwatch.GetTimestamp(),
                SequenceStore.TryBeginSequenceAsync(target.Key, target.Epoch, target.Number, target.Fingerprint, policy.Lease, timeout.Token),
                "begin_sequence");
            if (sequence.IsCompleted)
            {
                timeout.Dispose();
                return new ValueTask<BeginResult>(BeginResult.From(sequence.Result));
            }

            return AwaitSequenceBeginAsync(sequence, timeout, started);
        }

        var record = _telemetry.TimeStoreCall(
            Stopwatch.GetTimestamp(), _store.TryBeginAsync(target.Key, target.Fingerprint, policy.Lease, timeout.Token), "begin");
        if (record.IsCompleted)
        {
            timeout.Dispose();
            return new ValueTask<BeginResult>(BeginResult.From(record.Result));
        }

        return AwaitRecordBeginAsync(record, timeout, started);
    }

    // Store calls after acquisition are never tied to the request's cancellation: a client that went away must not
    // leave a record in flight whose operation already took effect. StoreTimeout bounds them instead.
    public ValueTask<bool> RenewAsync(Ownership ownership, ResolvedPolicy policy)
        => WithTimeout(ownership.IsStream
            ? _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), SequenceStore.RenewSequenceLeaseAsync(ownership.Key, ownership.FencingToken, policy.Lease, CancellationToken.None), "renew_sequence")
            : _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _store.RenewLeaseAsync(ownership.Key, ownership.FencingToken, policy.Lease, CancellationToken.None), "renew"));

    public ValueTask<bool> CompleteAsync(Ownership ownership, ResolvedPolicy policy, StoredResponse response)
        => WithTimeout(ownership.IsStream
            ? _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), SequenceStore.CompleteSequenceAsync(ownership.Key, ownership.FencingToken, response, policy.SequenceWindow, policy.StreamRetention, CancellationToken.None), "complete_sequence")
            : _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _store.CompleteAsync(ownership.Key, ownership.FencingToken, response, policy.Retention, CancellationToken.None), "complete"));

    public ValueTask<bool> ReleaseAsync(Ownership ownership)
        => WithTimeout(ownership.IsStream
            ? _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), SequenceStore.ReleaseSequenceAsync(ownership.Key, ownership.FencingToken, CancellationToken.None), "release_sequence")
            : _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _store.ReleaseAsync(ownership.Key, ownership.FencingToken, CancellationToken.None), "release"));

    // Bounded by StoreTimeout plus the lock wait: a begin inside a transaction may wait on the row another request's
    // transaction holds, for as long as the policy lets a duplicate wait. Whatever is not an acquisition ends its
    // transaction here, so a transaction outlives the begin only in the hands of its owner.
    private async ValueTask<BeginResult> BeginInTransactionAsync(StoreTarget target, ResolvedPolicy policy, IServiceProvider? services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var lockTimeout = policy.WaitForConcurrent ? policy.ConcurrentWaitTimeout : TimeSpan.Zero;
        using var timeout = new CancellationTokenSource(_storeTimeout + lockTimeout, _timeProvider);
        IIdempotencyStoreTransaction? transaction = null;
        try
        {
            var started = Stopwatch.GetTimestamp();
            transaction = await _telemetry.TimeStoreCall(started, TransactionalStore.BeginTransactionAsync(services, lockTimeout, timeout.Token), "begin_transaction")
                .AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
            started = Stopwatch.GetTimestamp();
            var begin = target.IsStream
                ? BeginResult.From(await _telemetry.TimeStoreCall(
                    started, transaction.TryBeginSequenceAsync(target.Key, target.Epoch, target.Number, target.Fingerprint, policy.Lease, timeout.Token), "begin_sequence")
                    .AsTask().WaitAsync(timeout.Token).ConfigureAwait(false))
                : BeginResult.From(await _telemetry.TimeStoreCall(
                    started, transaction.TryBeginAsync(target.Key, target.Fingerprint, policy.Lease, timeout.Token), "begin")
                    .AsTask().WaitAsync(timeout.Token).ConfigureAwait(false));
            if (begin.Decision != BeginDecision.Acquired)
            {
                return begin;
            }

            var owned = begin.InTransaction(transaction);
            transaction = null;
            return owned;
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"The idempotency store did not begin within {_storeTimeout + lockTimeout}.", ex);
        }
        finally
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Completes the owned record or slot inside its transaction; bounded by StoreTimeout, never by the caller.</summary>
    public ValueTask<bool> CompleteInTransactionAsync(IIdempotencyStoreTransaction transaction, Ownership ownership, ResolvedPolicy policy, StoredResponse response)
    {
        var timeout = new CancellationTokenSource(_storeTimeout, _timeProvider);
        return InTransactionAsync(
            ownership.IsStream
                ? _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), transaction.CompleteSequenceAsync(ownership.Key, ownership.FencingToken, response, policy.SequenceWindow, policy.StreamRetention, timeout.Token), "complete_sequence")
                : _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), transaction.CompleteAsync(ownership.Key, ownership.FencingToken, response, policy.Retention, timeout.Token), "complete"),
            timeout);
    }

    /// <summary>Commits the handler's writes with the record; bounded by StoreTimeout, never by the caller.</summary>
    public ValueTask<bool> CommitAsync(IIdempotencyStoreTransaction transaction)
    {
        var timeout = new CancellationTokenSource(_storeTimeout, _timeProvider);
        return InTransactionAsync(_telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), Committed(transaction.CommitAsync(timeout.Token)), "commit"), timeout);
    }

    private static ValueTask<bool> Committed(ValueTask commit)
    {
        if (commit.IsCompletedSuccessfully)
        {
            return new ValueTask<bool>(true);
        }

        return AwaitCommitAsync(commit);

        static async ValueTask<bool> AwaitCommitAsync(ValueTask commit)
        {
            await commit.ConfigureAwait(false);
            return true;
        }
    }

    // Unlike the calls above, an operation inside a transaction is cancelled at StoreTimeout rather than abandoned: the
    // engine disposes (rolls back) the transaction next, and a transaction is never used by two threads at once, so the
    // operation must have ended first. Once cancelled, the store gets a StoreTimeout more to stop (an answer it still
    // gives counts, a success included); one that ignores its token is abandoned then.
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> InTransactionAsync(ValueTask<bool> operation, CancellationTokenSource timeout)
    {
        using (timeout)
        {
            if (operation.IsCompleted)
            {
                return await operation.ConfigureAwait(false);
            }

            var task = operation.AsTask();
            try
            {
                return await task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
            }

            try
            {
                return await task.WaitAsync(_storeTimeout, _timeProvider).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
                throw new TimeoutException($"The idempotency store did not answer within {_storeTimeout}.", ex);
            }
        }
    }

[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<BeginResult> AwaitRecordBeginAsync(ValueTask<IdempotencyBeginResult> operation, CancellationTokenSource timeout, long startedTimestamp)
        => BeginResult.From(await WaitForBeginAsync(operation, timeout, startedTimestamp).ConfigureAwait(false));

[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<BeginResult> AwaitSequenceBeginAsync(ValueTask<SequenceBeginResult> operation, CancellationTokenSource timeout, long startedTimestamp)
        => BeginResult.From(await WaitForBeginAsync(operation, timeout, startedTimestamp).ConfigureAwait(false));

    // The timer starts only for a begin that did not complete at once (the in-memory store never needs one), and counts
    // from before the call, so time a store spends before returning its task (a first connection attempt) is included.
    // The wait uses the store's own token, so the engine never gives up before the store's token is cancelled (a
    // second timer could fire first, and disposing an uncancelled source would leave the store's token live); the wait
    // also bounds stores that ignore the token.
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> WaitForBeginAsync<T>(ValueTask<T> operation, CancellationTokenSource timeout, long startedTimestamp)
    {
        using (timeout)
        {
            var remaining = _storeTimeout - _timeProvider.GetElapsedTime(startedTimestamp);
            if (remaining > TimeSpan.Zero)
            {
                timeout.CancelAfter(remaining);
            }
            else
            {
                timeout.Cancel();
            }

            try
            {
                return await operation.AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"The idempotency store did not answer within {_storeTimeout}.", ex);
            }
        }
    }

    private ValueTask<T> WithTimeout<T>(ValueTask<T> operation)
        => operation.IsCompleted
            ? operation
            : new ValueTask<T>(operation.AsTask().WaitAsync(_storeTimeout, _timeProvider));
}
