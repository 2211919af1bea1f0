using System.Diagnostics;
using System.Runtime.CompilerServices;
using Idempotency.Diagnostics;
using Idempotency.Hooks;
using Idempotency.Policies;
using Idempotency.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Idempotency.Execution;

/// <summary>
/// The idempotency protocol without HTTP: begin (holding for a concurrent duplicate or an early sequence number),
/// classify what the store said or threw, run the operation while its lease is renewed, then complete or release.
/// The middleware and <see cref="IIdempotentExecutor"/> are its two adapters; each turns a decision into its own
/// answer (a problem response, an exception).
/// </summary>
internal sealed class IdempotencyEngine
{
    private readonly StoreCalls _calls;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly IdempotencyHooks _hooks;

    public IdempotencyEngine(StoreCalls calls, TimeProvider timeProvider, IdempotencyHooks hooks, ILogger<IdempotencyEngine> logger)
    {
        _hooks = hooks;
        _calls = calls;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public IdempotencyTelemetry Telemetry => _calls.Telemetry;

    public IdempotencyHooks Hooks => _hooks;

    public TimeProvider TimeProvider => _timeProvider;

    /// <summary>
    /// Begins <paramref name="target"/>: acquires it, or says why not. While another owner has it in flight (and
    /// <paramref name="waitForConcurrent"/>) or, for a stream, while its number is early (and the policy has a reorder
    /// wait), polls the store until that changes or the policy's wait is used up.
    /// </summary>
    /// <param name="target">The record or numbered stream request.</param>
    /// <param name="policy">The policy: lease and waits.</param>
    /// <param name="waitForConcurrent">Whether to hold while another owner executes.</param>
    /// <param name="cancellationToken">
    /// Ends holding only: the store calls themselves are bounded by the store timeout, never cancelled by the caller.
    /// Once it is cancelled, a failing store is no longer reported as unavailable: the exception propagates.
    /// </param>
    /// <returns>The decision; store failures are decisions too, never exceptions, except a cancelled wait.</returns>
    /// <param name="services">
    /// The request's services, from which a transactional policy's store resolves the handler's unit of work; may be
    /// <see langword="null"/> for other policies.
    /// </param>
    public ValueTask<BeginResult> BeginAsync(StoreTarget target, ResolvedPolicy policy, bool waitForConcurrent, IServiceProvider? services, CancellationToken cancellationToken)
    {
        // Inside a transaction a duplicate already waited for the running one on its row lock (as long as the policy
        // lets it wait); polling again would only wait twice.
        waitForConcurrent &= !policy.Transactional;
        ValueTask<BeginResult> first;
        try
        {
            first = _calls.BeginAsync(target, policy, services);
        }
        catch (Exception ex)
        {
            first = ValueTask.FromException<BeginResult>(ex);
        }

        // The in-memory store answers at once: no state machine unless the answer is a failure or means holding. A
        // completed ValueTask is consumed once, here: it may be a pooled source that its first result recycles.
        if (first.IsCompletedSuccessfully)
        {
            var begin = first.Result;
            if (!ShouldHold(begin.Decision, policy, waitForConcurrent))
            {
                return new ValueTask<BeginResult>(begin);
            }

            first = new ValueTask<BeginResult>(begin);
        }

        return HoldAsync(first, target, policy, waitForConcurrent, services, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> as the owner of <paramref name="ownership"/>: the lease is renewed while it runs
    /// and while its snapshot is made; when it throws, the record is released and the exception propagates; otherwise
    /// its snapshot completes the record, or the record is released when there is none to keep. Completion and
    /// release never listen to the caller's cancellation: the operation may have taken effect whatever the caller does
    /// now. <see cref="IdempotencyOptions.OnLeaseLost"/> is raised once the work has finished, never alongside it.
    /// </summary>
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ExecutionEnd> ExecuteAsync<TWork>(Ownership ownership, ResolvedPolicy policy, TWork work)
        where TWork : IOwnedWork
    {
        // The request's span (or the ambient activity of a worker): transitions are recorded on it and carry its trace id.
        var activity = Activity.Current;
        RecordTransitions.Acquired(_logger, activity, ownership, policy.Name);
        if (ownership.Transaction is { } transaction)
        {
            return await ExecuteInTransactionAsync(transaction, ownership, policy, work, activity).ConfigureAwait(false);
        }

        var renewal = new LeaseRenewal(_calls, ownership, policy, _timeProvider, _logger, activity);
        var ran = false;
        StoredResponse? response;
        try
        {
            await work.RunAsync().ConfigureAwait(false);
            ran = true;

            // Still renewing: deciding what to keep (an application's predicate, a serializer) may outlast the lease,
            // and a duplicate must not take the record over meanwhile.
            response = await CreateResponseAsync(work, ownership).ConfigureAwait(false);
        }
        finally
        {
            await renewal.DisposeAsync().ConfigureAwait(false);
            if (!ran)
            {
                await ReleaseAsync(ownership, policy, activity, "the handler threw").ConfigureAwait(false);
            }
        }

        var lost = renewal.Lost;
        var end = ExecutionEnd.Completed;
        if (response is null)
        {
            await ReleaseAsync(ownership, policy, activity, "status not storable").ConfigureAwait(false);
            end = ExecutionEnd.Released;
        }
        else
        {
            try
            {
                if (await _calls.CompleteAsync(ownership, policy, response).ConfigureAwait(false))
                {
                    RecordTransitions.Completed(_logger, activity, ownership, policy.Name, response.StatusCode);
                }
                else
                {
                    RecordTransitions.Fenced(_logger, activity, ownership, policy.Name);
                    if (!lost)
                    {
                        _calls.Telemetry.LeaseLost();
                        lost = true;
                    }
                }
            }
            catch (Exception ex)
            {
                // The response has reached the client (the result its caller) already; all that is lost is the record,
                // which expires with its lease.
                IdempotencyLog.CompletionFailed(_logger, ownership.Key, ex);
            }
        }

        if (lost)
        {
            // Raised here, once the work is over, so a hook never shares the request with a running handler.
            await _hooks.LeaseLostAsync(work.HttpContext, policy.Name).ConfigureAwait(false);
        }

        return end;
    }

    // The transaction holds the record (its own uncommitted row) for as long as the work runs: there is no lease to
    // renew, and a process that dies here leaves nothing behind. The record and the work's writes share one fate: a
    // response worth keeping commits both; anything else rolls both back (disposing the transaction), so a retry runs
    // against a database in which the operation never happened.
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ExecutionEnd> ExecuteInTransactionAsync<TWork>(IIdempotencyStoreTransaction transaction, Ownership ownership, ResolvedPolicy policy, TWork work, Activity? activity)
        where TWork : IOwnedWork
    {
        await using (transaction.ConfigureAwait(false))
        {
            try
            {
                await work.RunAsync().ConfigureAwait(false);
            }
            catch
            {
                RecordTransitions.Released(_logger, activity, ownership, policy.Name, "the handler threw");
                throw;
            }

            var response = await CreateResponseAsync(work, ownership).ConfigureAwait(false);
            if (response is null)
            {
                RecordTransitions.Released(_logger, activity, ownership, policy.Name, "status not storable");
                return ExecutionEnd.RolledBack;
            }

            if (!response.IsBodyStored)
            {
                RecordTransitions.Released(_logger, activity, ownership, policy.Name, "response not held whole");
                return ExecutionEnd.ResponseNotHeld;
            }

            try
            {
                if (!await _calls.CompleteInTransactionAsync(transaction, ownership, policy, response).ConfigureAwait(false))
                {
                    // The transaction holds the row, so nobody can have fenced it: a store that says so is not to be trusted
                    // with a commit.
                    RecordTransitions.Fenced(_logger, activity, ownership, policy.Name);
                    return ExecutionEnd.CommitFailed;
                }

                await _calls.CommitAsync(transaction).ConfigureAwait(false);
                RecordTransitions.Completed(_logger, activity, ownership, policy.Name, response.StatusCode);
                return ExecutionEnd.Committed;
            }
            catch (Exception ex)
            {
                // Maybe committed, maybe not: either way the client is told to retry, which replays what committed or
                // runs against a database where nothing did.
                IdempotencyLog.CommitFailed(_logger, ownership.Key, ex);
                return ExecutionEnd.CommitFailed;
            }
        }
    }

    // The operation has run: releasing the record would let a retry run it again, and leaving it in flight would do the
    // same once the lease ran out. Recorded without a body, every retry is told it ran (not replayable).
[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<StoredResponse?> CreateResponseAsync<TWork>(TWork work, Ownership ownership)
        where TWork : IOwnedWork
    {
        try
        {
            return await work.CreateResponseAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            IdempotencyLog.ResponseCaptureFailed(_logger, ownership.Key, ex);
            return new StoredResponse(StatusCodes.Status500InternalServerError, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false);
        }
    }

    // Only a store that cannot answer may be answered 503 or fail open. Anything else (a record this version cannot
    // read, a bug in a store) says nothing about whether the operation already ran, so running the operation because
    // of it could run it twice.
    private static bool IsUnavailability(Exception exception)
        => exception is IdempotencyStoreUnavailableException or TimeoutException;

    private static bool ShouldHold(BeginDecision decision, ResolvedPolicy policy, bool waitForConcurrent)
        => (decision == BeginDecision.InFlight && waitForConcurrent)
            || (decision == BeginDecision.Gap && policy.ReorderWait > TimeSpan.Zero);

[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<BeginResult> HoldAsync(
        ValueTask<BeginResult> first, StoreTarget target, ResolvedPolicy policy, bool waitForConcurrent, IServiceProvider? services, CancellationToken cancellationToken)
    {
        try
        {
            var begin = await first.ConfigureAwait(false);
            if (ShouldHold(begin.Decision, policy, waitForConcurrent))
            {
                // Each kind of holding has its own bound, both counted from when the request began to wait: a gap
                // ReorderWait, a duplicate in flight ConcurrentWaitTimeout. A request held for its gap that then finds
                // its number in flight keeps waiting only if it waits for concurrent duplicates at all.
                var backoff = new PollingBackoff(_timeProvider);
                while (ShouldHold(begin.Decision, policy, waitForConcurrent)
                    && await backoff.DelayAsync(begin.Decision == BeginDecision.Gap ? policy.ReorderWait : policy.ConcurrentWaitTimeout, cancellationToken).ConfigureAwait(false))
                {
                    // Under a transactional policy each poll is a transaction of its own: waiting inside one would hold
                    // the very row the request it waits for needs.
                    begin = await _calls.BeginAsync(target, policy, services).ConfigureAwait(false);
                }
            }

            return begin;
        }
        catch (IdempotencyStoreCapacityException ex)
        {
            // Room, not reachability: the store answered, so this is never unavailability and never fails open (a
            // caller who fills the store must not switch protection off). Nothing was written.
            return BeginResult.Failed(ex.Reason == StoreCapacityReason.ScopeQuotaExceeded ? BeginDecision.QuotaExceeded : BeginDecision.StoreFull, ex);
        }
        catch (Exception ex) when (IsUnavailability(ex) && !cancellationToken.IsCancellationRequested)
        {
            return BeginResult.Failed(BeginDecision.StoreUnavailable, ex);
        }
        catch (InvalidDataException ex)
        {
            return BeginResult.Failed(BeginDecision.RecordUnreadable, ex);
        }
    }

[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReleaseAsync(Ownership ownership, ResolvedPolicy policy, Activity? activity, string reason)
    {
        try
        {
            await _calls.ReleaseAsync(ownership).ConfigureAwait(false);
            RecordTransitions.Released(_logger, activity, ownership, policy.Name, reason);
        }
        catch (Exception ex)
        {
            IdempotencyLog.ReleaseFailed(_logger, ownership.Key, ex);
        }
    }
}
