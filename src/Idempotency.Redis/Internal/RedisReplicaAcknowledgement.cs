using System.Diagnostics.Metrics;
using Idempotency.Storage;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// Waits, after a completion or a lease (acquired or renewed) was written, until <see cref="RedisIdempotencyStoreOptions.ReplicasToAcknowledge"/>
/// replicas of the record's primary have it (<c>WAIT</c>), and reports when fewer did.
/// </summary>
/// <remarks>
/// <para>
/// <c>WAIT</c> covers every write its connection made before it. It is sent once the script's reply has arrived,
/// not pipelined with it: <c>ScriptEvaluateAsync</c> re-issues a script after a <c>NOSCRIPT</c> reply (a restarted or
/// promoted server, the very case this guards), and a re-issued script would land after a pipelined <c>WAIT</c>,
/// unwaited. The extra round trip is the price of never reporting an unreplicated completion as acknowledged.
/// </para>
/// <para>
/// It goes through the <see cref="IServer"/> that owns the key's slot, which shares the interactive connection the
/// script went over (StackExchange.Redis keeps one per server): on Redis Cluster the <c>WAIT</c> reaches the primary
/// that took the write. A shortfall, an error reply or a cancellation never undoes the completion: the primary answered
/// (or the caller stopped caring), the record is on it, so the store reports it and the caller's result stands. A
/// <c>WAIT</c> that gets no answer at all (the connection broke, or timed out) is different: the primary may have died
/// with the write unreplicated, and a failover then loses the record. Such a completion is reported as failed
/// (<see cref="IdempotencyStoreUnavailableException"/>), as one whose own reply was lost: nothing about it is known.
/// Begins and renewals follow the same rules (a lease stands on a shortfall; no answer fails the operation), and the
/// store releases the lease of a begin that failed or whose caller stopped waiting, since no handler runs under it.
/// </para>
/// </remarks>
internal sealed class RedisReplicaAcknowledgement
{
    private const string StoreName = nameof(RedisIdempotencyStore);

    // The middleware's meter (its name is internal to the core package), as the in-memory store's counters use it.
    private const string MeterName = "Idempotency";

    private readonly int _replicas;
    private readonly long _timeoutMilliseconds;
    private readonly object[] _arguments;
    private readonly ILogger _logger;
    private readonly Counter<long>? _shortfalls;

    public RedisReplicaAcknowledgement(int replicas, TimeSpan timeout, ILogger logger, IMeterFactory? meterFactory)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        _replicas = replicas;

        // Rounded up: WAIT n 0 would block forever.
        _timeoutMilliseconds = (long)Math.Ceiling(timeout.TotalMilliseconds);
        _arguments = [_replicas, _timeoutMilliseconds];
        _logger = logger;

        // A factory's meter is the factory's to dispose; a store built without one (by hand) counts nothing and logs only.
        _shortfalls = meterFactory?.Create(MeterName).CreateCounter<long>(
            "idempotency.redis.replica_ack_shortfall", "{write}",
            "Completions and acquired leases that fewer replicas than RedisIdempotencyStoreOptions.ReplicasToAcknowledge acknowledged within ReplicaAcknowledgeTimeout (or whose WAIT failed): on the primary, but a failover now could lose them.");
    }

    /// <summary>The timeout sent with <c>WAIT</c>, in whole milliseconds.</summary>
    internal long TimeoutMilliseconds => _timeoutMilliseconds;

    /// <summary>
    /// Waits for the replicas of the primary that holds <paramref name="key"/>. Throws
    /// <see cref="IdempotencyStoreUnavailableException"/> only when the primary never answered the <c>WAIT</c>.
    /// </summary>
    /// <param name="connections">The store's connection, which carried the write.</param>
    /// <param name="key">The record or stream just written: names the primary to ask.</param>
    /// <param name="operation">The store operation, as <c>idempotency.store.operation</c> names it.</param>
    /// <param name="cancellationToken">Stops the waiting (reported as a failure to acknowledge), never the write.</param>
    public async ValueTask WaitAsync(RedisConnectionProvider connections, RedisKey key, string operation, CancellationToken cancellationToken)
    {
        string endpoint = "(unknown)";
        try
        {
            // Synchronous: the write just went over this connection (unless the store is being disposed meanwhile).
            var database = await connections.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
            var server = database.Multiplexer.GetServer(key, flags: CommandFlags.DemandMaster);
            endpoint = EndPointCollection.ToString(server.EndPoint);
            var wait = server.ExecuteAsync("WAIT", _arguments, CommandFlags.DemandMaster);
            var reply = await (cancellationToken.CanBeCanceled ? wait.WaitAsync(cancellationToken) : wait).ConfigureAwait(false);
            var acknowledged = (long)reply;
            if (acknowledged < _replicas)
            {
                RedisStoreLog.ReplicaAcknowledgementShortfall(_logger, operation, endpoint, acknowledged, _replicas, _timeoutMilliseconds);
                CountShortfall(operation);
            }
        }
        catch (Exception ex) when (ex is RedisConnectionException or TimeoutException or IOException or System.Net.Sockets.SocketException
            || RedisFailures.IsAbandonedByClient(ex, cancellationToken))
        {
            // No answer: the primary may be dead, with this write never sent to a replica. Reported as written, a
            // failover would lose it and every retry would run the operation again after a stored response; reported as
            // failed, the contract's answer is one more run after the lease, and only if the record is really gone.
            RedisStoreLog.ReplicaAcknowledgementFailed(_logger, operation, endpoint, _replicas, ex.Message);
            CountShortfall(operation);
            throw new IdempotencyStoreUnavailableException($"Redis at {endpoint} never answered the WAIT after a {operation}; it may not survive a failover: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is RedisException or RedisCommandException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The server refused WAIT (a proxy without it), or the caller stopped waiting: the completion is written,
            // and failing it now would only turn a sent response into an error. What is unknown is whether it survives a
            // failover, and that is what the log and the counter say.
            RedisStoreLog.ReplicaAcknowledgementFailed(_logger, operation, endpoint, _replicas, ex.Message);
            CountShortfall(operation);
        }
    }

    private void CountShortfall(string operation)
    {
        if (_shortfalls is { Enabled: true } counter)
        {
            counter.Add(
                1,
                new KeyValuePair<string, object?>("idempotency.store", StoreName),
                new KeyValuePair<string, object?>("idempotency.store.operation", operation));
        }
    }
}
