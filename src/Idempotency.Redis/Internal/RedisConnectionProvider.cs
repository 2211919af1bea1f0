using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// Owns the one connection the store and its health check share. Connects lazily so that building the service
/// provider never blocks on the network, and keeps nothing from a failed attempt so the next call tries again.
/// Before it hands out the database for the first time it checks the server's eviction policy
/// (<see cref="RedisIdempotencyStoreOptions.EvictionPolicyCheck"/>); a check Redis could not answer runs again on the
/// next call, on the same connection.
/// </summary>
internal sealed class RedisConnectionProvider : IAsyncDisposable, IDisposable
{
    private readonly RedisIdempotencyStoreOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private IConnectionMultiplexer? _connection;
    private volatile IDatabase? _database;
    private bool _ownsConnection;
    private bool _disposed;

    // Set once a Refuse check found an evicting policy: the store stays refused until the application restarts, so
    // that a record is never written to, or replayed from, a server that may drop it.
    private string? _refusal;

    public RedisConnectionProvider(IOptions<RedisIdempotencyStoreOptions> options, ILogger<RedisConnectionProvider>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger ?? NullLogger<RedisConnectionProvider>.Instance;
    }

    public ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken)
    {
        var database = _database;
        return database is not null ? new(database) : ConnectAndGetDatabaseAsync(cancellationToken);
    }

    public async ValueTask<IConnectionMultiplexer> GetConnectionAsync(CancellationToken cancellationToken)
        => (await GetDatabaseAsync(cancellationToken).ConfigureAwait(false)).Multiplexer;

    /// <summary>
    /// The options the store applies to a connection it creates from <see cref="RedisIdempotencyStoreOptions.Configuration"/>.
    /// </summary>
    internal static ConfigurationOptions CreateConfiguration(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);

        // Complete and release must never wait in a client-side backlog while disconnected: written late, they would act
        // on a record that may by then belong to someone else (fencing still protects it, but the caller has long given
        // up). Failing at once lets the middleware answer 503 and the lease expire on its own.
        options.BacklogPolicy = BacklogPolicy.FailFast;

        // The application must start while Redis is down, and the multiplexer must keep reconnecting afterwards
        // instead of leaving the store with a connection that failed once.
        options.AbortOnConnectFail = false;

        // StackExchange.Redis 2.x defaults to SocketManager.Shared: ten dedicated threads read every socket and hand each
        // reply to the thread pool, two thread hops per command. Every idempotent request awaits one or two commands, so
        // those hops dominated its cost: on two cores the app spent ~55 µs of CPU per round trip with the shared
        // manager and ~25 µs on the thread pool, and Redis replays went from 0.7x to ~1x of the bare endpoint
        // (bench/results). The dedicated threads exist to survive thread-pool starvation by sync-over-async code, which
        // .NET 6+ mitigates; an application that still starves its pool can supply its own connection.
        options.SocketManager = SocketManager.ThreadPool;
        return options;
    }

    private async ValueTask<IDatabase> ConnectAndGetDatabaseAsync(CancellationToken cancellationToken)
    {
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_database is { } database)
            {
                return database;
            }

            // A refused store keeps its connection (disposed with the provider), so this never connects twice.
            var connection = _connection ??= await ConnectAsync().ConfigureAwait(false);
            if (_refusal is null && _options.EvictionPolicyCheck != RedisEvictionPolicyCheck.Off)
            {
                // Before the first command, and not in the background: under Refuse not one record may be written to a
                // server that evicts. A check that fails because Redis is unreachable throws, and the next call repeats it.
                _refusal = await RedisEvictionPolicy.CheckAsync(connection, _options.EvictionPolicyCheck, _logger, cancellationToken).ConfigureAwait(false);
            }

            if (_refusal is not null)
            {
                throw new InvalidOperationException(_refusal);
            }

            database = connection.GetDatabase();
            _database = database;
            return database;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    // Called with the connect lock held.
    private async Task<IConnectionMultiplexer> ConnectAsync()
    {
        if (_options.ConnectionMultiplexerFactory is { } factory)
        {
            // Not abandoned on cancellation: a connection that arrives after its caller gave up would leak.
            var supplied = await Task.Run(factory, CancellationToken.None).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.ConnectionMultiplexerFactory)} returned null.");
            _ownsConnection = false;
            return supplied;
        }

        var configuration = _options.Configuration
            ?? throw new InvalidOperationException($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.Configuration)} is not set.");

        // Off the caller's thread (as the factory above): ConnectAsync does seconds of work before it returns its task
        // when the server cannot be reached, and the caller (a request) must be able to stop waiting at its StoreTimeout.
        var options = CreateConfiguration(configuration);
        var created = await Task.Run(() => ConnectionMultiplexer.ConnectAsync(options), CancellationToken.None).ConfigureAwait(false);
        _ownsConnection = true;
        return created;
    }

    public async ValueTask DisposeAsync()
    {
        if (TakeOwnedConnectionForDisposal() is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => TakeOwnedConnectionForDisposal()?.Dispose();

    private IConnectionMultiplexer? TakeOwnedConnectionForDisposal()
    {
        // A connect in progress holds the lock; waiting for it keeps its connection from escaping disposal.
        _connectLock.Wait();
        try
        {
            if (_disposed)
            {
                return null;
            }

            _disposed = true;
            var connection = _connection;
            _database = null;
            _connection = null;
            return _ownsConnection ? connection : null;
        }
        finally
        {
            _connectLock.Release();
        }
    }
}
