using System.Buffers;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using Idempotency.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// <see cref="IIdempotencyStore"/> on Redis: one hash per record or stream, each operation one Lua script (see
/// <see cref="RedisScripts"/>; the stream operations live in <c>RedisIdempotencyStore.Streams.cs</c> and <see cref="RedisStreamScripts"/>).
/// </summary>
/// <remarks>
/// A Redis that cannot serve now (unreachable, timed out, out of memory under <c>noeviction</c>, read-only after a
/// failover, loading, ...) surfaces as <see cref="IdempotencyStoreUnavailableException"/>, which the middleware answers
/// with <c>503 idempotency-store-unavailable</c>; see <see cref="RedisFailures"/>. An unreadable record is an
/// <see cref="InvalidDataException"/>. Every script may write, so every call demands the primary.
/// <para>
/// A Redis call never completes synchronously, so each operation's async state machine would be allocated on every
/// call: the operations use <see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/>, whose results may be awaited
/// once only (as any <see cref="ValueTask{TResult}"/>'s).
/// </para>
/// </remarks>
internal sealed partial class RedisIdempotencyStore : IIdempotencySequenceStore
{
    private const CommandFlags Flags = CommandFlags.DemandMaster;

    private readonly RedisConnectionProvider _connections;
    private readonly byte[] _keyPrefix;

    // Null unless RedisIdempotencyStoreOptions.ReplicasToAcknowledge asks for replicas: the default path costs nothing.
    private readonly RedisReplicaAcknowledgement? _acknowledgement;

    // How snapshots are written and read (protection, compression; see StoredResponseSerializer). By default neither
    // applies and the plain path below stays pooled.
    private readonly IdempotencyOptions _responseOptions;
    private readonly bool _plainSnapshots;

    public RedisIdempotencyStore(
        RedisConnectionProvider connections, IOptions<RedisIdempotencyStoreOptions> options, ILogger<RedisIdempotencyStore>? logger = null, IMeterFactory? meterFactory = null,
        IOptions<IdempotencyOptions>? idempotencyOptions = null)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(options);
        _connections = connections;
        if (options.Value.ReplicasToAcknowledge > 0)
        {
            _acknowledgement = new RedisReplicaAcknowledgement(
                options.Value.ReplicasToAcknowledge, options.Value.ReplicaAcknowledgeTimeout, (ILogger?)logger ?? NullLogger.Instance, meterFactory);
        }

        _responseOptions = idempotencyOptions?.Value ?? new IdempotencyOptions();
        _plainSnapshots = _responseOptions is { ProtectStoredResponses: false, CompressStoredResponses: false };
        _keyPrefix = Encoding.UTF8.GetBytes(options.Value.KeyPrefix
            ?? throw new InvalidOperationException($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.KeyPrefix)} was not resolved; register the store with AddRedisStore()."));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        var recordKey = RecordKey(key);
        var leaseMilliseconds = ToMilliseconds(lease, nameof(lease)) + LeaseAcknowledgementMilliseconds;

        var token = FencingTokens.Next();
        var result = await EvaluateAsync(RedisScripts.Begin, recordKey, RedisScriptArguments.Values(fingerprint, token, leaseMilliseconds), cancellationToken).ConfigureAwait(false);

        if (result.Resp2Type == ResultType.BulkString)
        {
            var snapshot = (byte[]?)result ?? throw new InvalidDataException("A completed idempotency record has no stored response.");
            return IdempotencyBeginResult.Completed(StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(snapshot), _responseOptions));
        }

        var status = (long)result;
        if (status == RedisScripts.Acquired && _acknowledgement is not null)
        {
            await AcknowledgeLeaseAsync(recordKey, RedisScripts.Release, token, "begin", cancellationToken).ConfigureAwait(false);
        }

        return status switch
        {
            RedisScripts.Acquired => IdempotencyBeginResult.Acquired(token),
            RedisScripts.InFlight => IdempotencyBeginResult.InFlight(),
            RedisScripts.FingerprintMismatch => IdempotencyBeginResult.FingerprintMismatch(),
            var other => throw new InvalidDataException($"The begin script answered {other}."),
        };
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        var recordKey = RecordKey(key);
        var leaseMilliseconds = ToMilliseconds(lease, nameof(lease)) + LeaseAcknowledgementMilliseconds;
        return await EvaluateAcknowledgedAsync(RedisScripts.Renew, recordKey, RedisScriptArguments.Values(fencingToken, leaseMilliseconds), rented: null, "renew", cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var recordKey = RecordKey(key);
        var retentionMilliseconds = ToMilliseconds(retention, nameof(retention));

        var snapshot = SerializeSnapshot(response, out var rented);
        return await EvaluateAcknowledgedAsync(RedisScripts.Complete, recordKey, RedisScriptArguments.Values(fencingToken, snapshot, retentionMilliseconds), rented, "complete", cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
    {
        var recordKey = RecordKey(key);
        var result = await EvaluateAsync(RedisScripts.Release, recordKey, RedisScriptArguments.Values(fencingToken), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>
    /// The snapshot's bytes: in a pooled array (<paramref name="rented"/>, for <see cref="ReturnSnapshot"/>) unless it is
    /// protected or compressed, when it is an array of its own.
    /// </summary>
    private ReadOnlyMemory<byte> SerializeSnapshot(StoredResponse response, out byte[]? rented)
    {
        if (!_plainSnapshots)
        {
            rented = null;
            return StoredResponseSerializer.Serialize(response, _responseOptions);
        }

        var size = StoredResponseSerializer.GetSerializedLength(response);
        rented = ArrayPool<byte>.Shared.Rent(size);
        var written = StoredResponseSerializer.Serialize(response, rented);
        return rented.AsMemory(0, written);
    }

    private static void ReturnSnapshot(byte[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The Redis key of a record: the prefix, then the record key as the Redis Cluster hash tag.</summary>
    internal RedisKey RecordKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var keyLength = Encoding.UTF8.GetByteCount(key);
        var buffer = new byte[_keyPrefix.Length + keyLength + 2];
        _keyPrefix.CopyTo(buffer, 0);
        var position = _keyPrefix.Length;
        buffer[position++] = (byte)'{';
        position += Encoding.UTF8.GetBytes(key, buffer.AsSpan(position));
        buffer[position] = (byte)'}';
        return buffer;
    }

    /// <summary>
    /// Runs one script on the record or stream at <paramref name="key"/>: the one place every store operation reaches
    /// Redis, so the one place a failure that means "cannot serve now" becomes <see cref="IdempotencyStoreUnavailableException"/>.
    /// Anything else (an unreadable record, a script error, a configuration the store refuses) propagates unchanged as
    /// a server error, which the middleware never answers by running the handler again.
    /// </summary>
    /// <param name="script">The script.</param>
    /// <param name="key">The record's or stream's key.</param>
    /// <param name="arguments">From <see cref="RedisScriptArguments"/> (kept for the next command once Redis answered), or empty.</param>
    /// <param name="cancellationToken">Stops the wait, not the command.</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RedisResult> EvaluateAsync(string script, RedisKey key, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        try
        {
            var database = await _connections.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);

            // A caller that gave up while the connection was being made must not have its command sent afterwards.
            cancellationToken.ThrowIfCancellationRequested();
            var keys = RedisScriptArguments.Keys(key);
            var evaluation = database.ScriptEvaluateAsync(script, keys, arguments, Flags);

            // StackExchange.Redis takes no cancellation token: a cancelled caller stops waiting, the command runs anyway.
            // That is safe because every script either creates a record the lease will expire or is fenced by the token.
            var result = await (cancellationToken.CanBeCanceled ? evaluation.WaitAsync(cancellationToken) : evaluation).ConfigureAwait(false);
            RedisScriptArguments.Return(keys, arguments);
            return result;
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex, cancellationToken))
        {
            throw new IdempotencyStoreUnavailableException($"Redis cannot serve the idempotency store now: {ex.Message}", ex);
        }
    }

    private static long ToMilliseconds(TimeSpan duration, string parameterName)
    {
        if (duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(parameterName, duration, "The duration must be positive.");
        }

        // Rounded up so that a sub-millisecond duration never becomes PEXPIRE 0, which would delete the record.
        return (long)Math.Ceiling(duration.TotalMilliseconds);
    }
}
