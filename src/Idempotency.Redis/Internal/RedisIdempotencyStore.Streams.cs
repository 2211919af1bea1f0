using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Idempotency.Storage;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>The stream operations (sequence mode): one hash per stream, each operation one <see cref="RedisStreamScripts"/> call.</summary>
internal sealed partial class RedisIdempotencyStore
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        var redisKey = StreamKey(streamKey);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceNumber, 1);
        var leaseMilliseconds = ToMilliseconds(lease, nameof(lease)) + LeaseAcknowledgementMilliseconds;

        // Numbers go out as RedisValue longs, which StackExchange.Redis writes as canonical decimal strings: the form the
        // scripts compare and store.
        var token = FencingTokens.Next();
        var result = await EvaluateAsync(RedisStreamScripts.Begin, redisKey, RedisScriptArguments.Values(epoch, sequenceNumber, fingerprint, token, leaseMilliseconds), cancellationToken).ConfigureAwait(false);

        switch (result.Resp2Type)
        {
            case ResultType.BulkString:
                var snapshot = (byte[]?)result ?? throw new InvalidDataException("An applied stream number has a fingerprint but no stored response.");
                return SequenceBeginResult.Completed(StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(snapshot), _responseOptions));

            case ResultType.Array:
                var reply = (RedisResult[])result!;
                var number = ParseNumber(reply[1]);
                return (long)reply[0] switch
                {
                    RedisStreamScripts.AlreadyApplied => SequenceBeginResult.AlreadyApplied(number),
                    RedisStreamScripts.Gap => SequenceBeginResult.Gap(number),
                    RedisStreamScripts.EpochFenced => SequenceBeginResult.EpochFenced(number),
                    var other => throw new InvalidDataException($"The stream begin script answered {other}."),
                };

            default:
                var status = (long)result;
                if (status == RedisStreamScripts.Acquired && _acknowledgement is not null)
                {
                    await AcknowledgeLeaseAsync(redisKey, RedisStreamScripts.Release, token, "begin_sequence", cancellationToken).ConfigureAwait(false);
                }

                return status switch
                {
                    RedisStreamScripts.Acquired => SequenceBeginResult.Acquired(token),
                    RedisStreamScripts.InFlight => SequenceBeginResult.InFlight(),
                    RedisStreamScripts.FingerprintMismatch => SequenceBeginResult.FingerprintMismatch(),
                    var other => throw new InvalidDataException($"The stream begin script answered {other}."),
                };
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        var redisKey = StreamKey(streamKey);
        var leaseMilliseconds = ToMilliseconds(lease, nameof(lease)) + LeaseAcknowledgementMilliseconds;
        return await EvaluateAcknowledgedAsync(RedisStreamScripts.Renew, redisKey, RedisScriptArguments.Values(fencingToken, leaseMilliseconds), rented: null, "renew_sequence", cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var redisKey = StreamKey(streamKey);

        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var retentionMilliseconds = ToMilliseconds(retention, nameof(retention));

        var snapshot = SerializeSnapshot(response, out var rented);
        return await EvaluateAcknowledgedAsync(RedisStreamScripts.Complete, redisKey, RedisScriptArguments.Values(fencingToken, snapshot, window, retentionMilliseconds), rented, "complete_sequence", cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
    {
        var redisKey = StreamKey(streamKey);
        var result = await EvaluateAsync(RedisStreamScripts.Release, redisKey, RedisScriptArguments.Values(fencingToken), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>
    /// The Redis key of a stream: the prefix, the stream key as the Redis Cluster hash tag, then <c>:s</c>.
    /// </summary>
    /// <remarks>
    /// A record's key ends with <c>}</c> and a stream's with <c>:s</c>, so no stream can meet a record, not even one of
    /// another application whose prefix is this one's plus some characters (a marker before the brace, such as
    /// <c>{prefix}s:{key}</c>, would collide with the records of an application using the prefix <c>{prefix}s:</c>).
    /// </remarks>
    internal RedisKey StreamKey(string streamKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamKey);
        var keyLength = Encoding.UTF8.GetByteCount(streamKey);
        var buffer = new byte[_keyPrefix.Length + keyLength + 4];
        _keyPrefix.CopyTo(buffer, 0);
        var position = _keyPrefix.Length;
        buffer[position++] = (byte)'{';
        position += Encoding.UTF8.GetBytes(streamKey, buffer.AsSpan(position));
        buffer[position++] = (byte)'}';
        buffer[position++] = (byte)':';
        buffer[position] = (byte)'s';
        return buffer;
    }

    private static long ParseNumber(RedisResult value)
        => long.Parse((string?)value ?? throw new InvalidDataException("The stream begin script answered no number."), NumberStyles.None, CultureInfo.InvariantCulture);
}
