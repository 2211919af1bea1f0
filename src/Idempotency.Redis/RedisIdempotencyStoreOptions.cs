using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>Options for the Redis idempotency store. Set either <see cref="Configuration"/> or <see cref="ConnectionMultiplexerFactory"/>.</summary>
public sealed class RedisIdempotencyStoreOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string, for example <c>localhost:6379</c> or
    /// <c>redis-a:6379,redis-b:6379,password=...,ssl=true</c>. The store creates and owns one connection from it.
    /// </summary>
    /// <remarks>
    /// On that connection the store sets <see cref="BacklogPolicy.FailFast"/>, so a command issued while Redis is
    /// unreachable fails at once (the middleware answers <c>503</c>, the lease expires on its own) instead of waiting in a
    /// client-side queue and being written minutes later; and <c>abortConnect=false</c>, so the application starts even
    /// when Redis is briefly down and the connection heals itself afterwards. Its socket I/O runs on the .NET thread pool
    /// (<see cref="SocketManager.ThreadPool"/>) instead of the client library's dedicated threads, which halves the CPU
    /// each round trip costs the application; an application that blocks thread-pool threads on async work should supply
    /// its own connection through <see cref="ConnectionMultiplexerFactory"/> instead.
    /// </remarks>
    /// <value>Defaults to <see langword="null"/>.</value>
    public string? Configuration { get; set; }

    /// <summary>
    /// Supplies the connection instead of <see cref="Configuration"/>, for example one shared with the rest of the
    /// application. It is called once (again only after it failed) and the connection it returns is not disposed by the store.
    /// </summary>
    /// <remarks>
    /// Give such a connection <see cref="ConfigurationOptions.BacklogPolicy"/> = <see cref="BacklogPolicy.FailFast"/>;
    /// with the default policy, completions issued during an outage wait in a client-side backlog until their timeout.
    /// </remarks>
    /// <value>Defaults to <see langword="null"/>.</value>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// Prepended to every Redis key the store writes, so that several applications can share a database. Each record
    /// lives at <c>{KeyPrefix}{{recordKey}}</c> and each stream (sequence mode) at <c>{KeyPrefix}{{streamKey}}:s</c>: the
    /// record or stream key is the Redis Cluster hash tag, so the prefix must not contain <c>{</c> or <c>}</c>.
    /// </summary>
    /// <remarks>
    /// The default includes the application's name (<c>IHostEnvironment.ApplicationName</c>, by default the entry
    /// assembly's name; without a host, the entry assembly's name), with any <c>{</c> or <c>}</c> replaced by <c>_</c>.
    /// Two services sharing one Redis therefore never replay each other's responses to the same caller, key and request.
    /// Set the prefix yourself when deployments with different application names must share records (the same service
    /// deployed under two names), when the application's name may change while records are alive (a renamed assembly
    /// loses them, and their retries run again), or to keep the records of a version whose default was
    /// <c>idempotency:</c> across an upgrade.
    /// </remarks>
    /// <value>Defaults to <see langword="null"/>, which means <c>idempotency:{ApplicationName}:</c>.</value>
    public string? KeyPrefix { get; set; }

    /// <summary>
    /// Whether the store checks, on its first connection, that Redis does not evict keys (<c>maxmemory-policy</c>
    /// <c>noeviction</c>). An evicting policy can drop a record within its retention, and its retry then runs again.
    /// </summary>
    /// <remarks>
    /// The store reads <c>CONFIG GET maxmemory-policy</c> from every primary before its first command. Where
    /// <c>CONFIG</c> is disabled or renamed (as on most managed Redis services), it logs that the policy could not be
    /// checked and serves, whatever this option says.
    /// </remarks>
    /// <value>Defaults to <see cref="RedisEvictionPolicyCheck.Warn"/>.</value>
    public RedisEvictionPolicyCheck EvictionPolicyCheck { get; set; } = RedisEvictionPolicyCheck.Warn;

    /// <summary>
    /// How many replicas must acknowledge a completion, or a lease a begin acquired, before the store reports it,
    /// through <c>WAIT</c>; 0 (the default) does not wait. Redis replicates asynchronously: a primary that dies right
    /// after a write and is replaced by a replica that had not received it loses it. A lost completion lets the retry
    /// run the operation again; a lost lease lets a retry run it while the first execution still runs.
    /// </summary>
    /// <remarks>
    /// <para>
    /// When set, every completion that was written (records and streams), every begin that acquired a lease (a new
    /// one or a takeover; a replay, an in-flight or mismatch answer writes nothing and does not wait) and every
    /// renewal that extended one is followed by <c>WAIT ReplicasToAcknowledge ReplicaAcknowledgeTimeout</c> on the
    /// same connection to the same primary, once the write has been answered; the handler runs only after the
    /// begin's. Begins and renewals write the policy's lease plus <see cref="ReplicaAcknowledgeTimeout"/>, so that the
    /// wait does not eat into the lease its owner counts on (and a crashed instance's record blocks retries that much
    /// longer). Releases are not waited for: losing one delays a retry, it never runs an operation twice.
    /// </para>
    /// <para>
    /// Redis serves one connection's commands in order, and <c>WAIT</c> holds the connection until the replicas
    /// acknowledge: every other command the application sends on that connection (all of the store's, when it shares
    /// one) waits behind it, typically for one replica round trip. When fewer replicas acknowledge within
    /// <see cref="ReplicaAcknowledgeTimeout"/>, the write stands (the completion is on the primary and its response has
    /// been sent; the lease is on the primary and its handler runs), a warning is logged and
    /// <c>idempotency.redis.replica_ack_shortfall</c> is counted; with a replica down, every first request waits for
    /// the whole timeout twice (and each renewal once). Set Redis's <c>min-replicas-to-write</c> to refuse writes (503) instead in that case.
    /// A <c>WAIT</c> that gets no answer (the connection broke or timed out: the primary may have died with the write
    /// unreplicated) fails the operation as unavailable; a begin's lease is then released, and its handler never runs
    /// (a renewal that fails so is retried at the next tick, as any failed renewal).
    /// </para>
    /// </remarks>
    /// <value>Defaults to 0. At least 0.</value>
    public int ReplicasToAcknowledge { get; set; }

    /// <summary>
    /// How long a completion, an acquiring begin or a renewal waits for <see cref="ReplicasToAcknowledge"/> replicas
    /// before it is reported without their acknowledgement (logged and counted as a shortfall). Used only when
    /// <see cref="ReplicasToAcknowledge"/> is above 0.
    /// </summary>
    /// <remarks>
    /// Sent to Redis in whole milliseconds (rounded up), and added to the lease a begin or a renewal writes. Set it comfortably
    /// above the replication lag the replicas may have (a shortfall is a write a failover can still lose), and well
    /// below the connection's <c>asyncTimeout</c> (5 s by default), the middleware's <c>StoreTimeout</c> (a begin that
    /// outlasts it is answered 503 and its lease released) and the policies' leases: commands queued behind a waiting
    /// <c>WAIT</c> count their time from when they were sent.
    /// </remarks>
    /// <value>Defaults to 1 second. Positive, at most 5 seconds.</value>
    public TimeSpan ReplicaAcknowledgeTimeout { get; set; } = DefaultReplicaAcknowledgeTimeout;

    internal static readonly TimeSpan DefaultReplicaAcknowledgeTimeout = TimeSpan.FromSeconds(1);

    internal static readonly TimeSpan MaxReplicaAcknowledgeTimeout = TimeSpan.FromSeconds(5);
}
