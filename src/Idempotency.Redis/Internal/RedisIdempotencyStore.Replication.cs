using System.Runtime.CompilerServices;
using Idempotency.Storage;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// Leases under <see cref="RedisIdempotencyStoreOptions.ReplicasToAcknowledge"/>: a lease is reported acquired (or
/// renewed) only once the replicas were asked to hold it, so that a failover cannot hand the same operation to a retry
/// while it runs, nor end its lease earlier than its owner was told.
/// </summary>
internal sealed partial class RedisIdempotencyStore
{
    /// <summary>
    /// What a begin or a renewal adds to the lease it writes: the <c>WAIT</c> that follows may take up to its timeout
    /// before the caller hears "acquired" (or "renewed"), and the lease is counted by its owner from then. Without it
    /// a slow acknowledgement would eat into the lease before the next renewal (a third of the lease after this one
    /// returned), and a replica promoted meanwhile would let a retry take over a handler that still runs.
    /// </summary>
    private long LeaseAcknowledgementMilliseconds => _acknowledgement?.TimeoutMilliseconds ?? 0;

    /// <summary>
    /// Runs a fenced write whose loss in a failover would matter (a renewal, a completion: the script answers 1 when it
    /// applied it) and, with <see cref="RedisIdempotencyStoreOptions.ReplicasToAcknowledge"/>, waits for the replicas
    /// to hold it. <paramref name="rented"/>, the command's pooled snapshot, goes back to the pool only once Redis has
    /// answered, which proves the command was written: after a failure or a cancellation the command may still sit in
    /// the connection's write queue referring to it, and handing it to the pool then could let another request's
    /// snapshot be written under this key, so it is left to the GC.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> EvaluateAcknowledgedAsync(string script, RedisKey key, RedisValue[] arguments, byte[]? rented, string operation, CancellationToken cancellationToken)
    {
        var result = await EvaluateAsync(script, key, arguments, cancellationToken).ConfigureAwait(false);
        ReturnSnapshot(rented);
        var applied = (long)result == 1;
        if (applied && _acknowledgement is not null)
        {
            await _acknowledgement.WaitAsync(_connections, key, operation, cancellationToken).ConfigureAwait(false);
        }

        return applied;
    }

    /// <summary>
    /// Waits, as a completion does, for the replicas to hold the lease a begin just wrote under <paramref name="fencingToken"/>.
    /// A shortfall stands (the lease is on the primary; logged and counted by <see cref="RedisReplicaAcknowledgement"/>).
    /// A <c>WAIT</c> with no answer fails the begin as unavailable, and a caller that stopped waiting gets its
    /// cancellation: either way no handler runs under this token, so the lease is released (fenced, unawaited) rather
    /// than left to block every retry until it expires.
    /// </summary>
    private async ValueTask AcknowledgeLeaseAsync(RedisKey key, string releaseScript, long fencingToken, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await _acknowledgement!.WaitAsync(_connections, key, operation, cancellationToken).ConfigureAwait(false);
        }
        catch (IdempotencyStoreUnavailableException)
        {
            ReleaseUnacknowledgedLease(key, releaseScript, fencingToken);
            throw;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            ReleaseUnacknowledgedLease(key, releaseScript, fencingToken);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Releases a lease no handler will use, without waiting: the begin's caller is about to hear "unavailable" (or
    /// has stopped listening), and a release on a connection that just broke must not delay that answer. Best effort:
    /// the release is fenced by the token, so wherever it lands (the primary, or a promoted replica once the connection
    /// is back) it frees only this lease; if it never lands, the lease expires as any abandoned one does.
    /// </summary>
    private void ReleaseUnacknowledgedLease(RedisKey key, string releaseScript, long fencingToken)
    {
        try
        {
            var database = _connections.GetDatabaseAsync(CancellationToken.None);
            if (database.IsCompletedSuccessfully)
            {
                _ = database.Result.ScriptEvaluateAsync(releaseScript, [key], [fencingToken], Flags | CommandFlags.FireAndForget);
            }
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or InvalidOperationException)
        {
            // Nothing to do: the lease expires on its own.
        }
    }
}
