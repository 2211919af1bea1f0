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
}
