using System.Buffers;
using System.Globalization;
using Idempotency.Storage;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>The operator's view and repairs (<see cref="IIdempotencyAdminStore"/>): one <see cref="RedisAdminScripts"/> call each.</summary>
internal sealed partial class RedisIdempotencyStore : IIdempotencyAdminStore
{
    public async ValueTask<IdempotencyRecordInfo?> InspectRecordAsync(string key, CancellationToken cancellationToken)
    {
        var redisKey = RecordKey(key);
        var result = await EvaluateAsync(RedisAdminScripts.Inspect, redisKey, [], cancellationToken).ConfigureAwait(false);
        if (!TryReadInspection(result, out _, out var expiresAt, out var fields))
        {
            return null;
        }

        switch (Text(fields, "s"))
        {
            case "i":
                var token = Text(fields, "t") ?? throw new InvalidDataException("An in-flight idempotency record has no fencing token.");
                return IdempotencyRecordInfo.InFlight(long.Parse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture), expiresAt);
            case "c":
                var snapshot = fields.TryGetValue("r", out var bytes) ? bytes : throw new InvalidDataException("A completed idempotency record has no stored response.");
                return IdempotencyRecordInfo.Completed(StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(snapshot), _responseOptions), expiresAt);
            case var state:
                throw new InvalidDataException($"The idempotency record has state '{state}', which this version of the store does not read.");
        }
    }

    public async ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken)
    {
        var result = await EvaluateAsync(RedisAdminScripts.Delete, RecordKey(key), [], cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<IdempotencyStreamInfo?> InspectStreamAsync(string streamKey, CancellationToken cancellationToken)
    {
        var redisKey = StreamKey(streamKey);
        var result = await EvaluateAsync(RedisAdminScripts.Inspect, redisKey, [], cancellationToken).ConfigureAwait(false);
        if (!TryReadInspection(result, out var now, out var expiresAt, out var fields))
        {
            return null;
        }

        var epoch = Number(fields, "e");
        var last = Number(fields, "l");
        IdempotencyStreamSlot? slot = null;
        if (Text(fields, "sd") is { } deadline && long.Parse(deadline, NumberStyles.None, CultureInfo.InvariantCulture) is var leaseEnd && leaseEnd > now)
        {
            slot = new IdempotencyStreamSlot(
                long.Parse(Text(fields, "st") ?? "0", NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                Number(fields, "se"),
                Number(fields, "sn"),
                DateTimeOffset.FromUnixTimeMilliseconds(leaseEnd));
        }

        // The window holds exactly the numbers whose 'r:n' field exists (see RedisStreamScripts).
        var window = new List<IdempotencyStreamEntry>();
        foreach (var (name, value) in fields)
        {
            if (name.StartsWith("r:", StringComparison.Ordinal))
            {
                var number = long.Parse(name.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture);
                window.Add(new IdempotencyStreamEntry(number, StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(value), _responseOptions)));
            }
        }

        window.Sort(static (a, b) => a.SequenceNumber.CompareTo(b.SequenceNumber));
        return new IdempotencyStreamInfo(epoch, last, window, slot, expiresAt);
    }

    public async ValueTask<bool> ResetStreamAsync(string streamKey, CancellationToken cancellationToken)
    {
        var result = await EvaluateAsync(RedisAdminScripts.Delete, StreamKey(streamKey), [], cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>Reads <see cref="RedisAdminScripts.Inspect"/>'s answer; <see langword="false"/> when the key is missing.</summary>
    private static bool TryReadInspection(RedisResult result, out long now, out DateTimeOffset expiresAt, out Dictionary<string, byte[]> fields)
    {
        var reply = (RedisResult[])result!;
        now = (long)reply[0];
        var ttl = (long)reply[1];
        var pairs = (RedisResult[])reply[2]!;
        fields = new Dictionary<string, byte[]>(pairs.Length / 2, StringComparer.Ordinal);
        if (ttl == -2 || pairs.Length == 0)
        {
            expiresAt = default;
            return false;
        }

        for (var i = 0; i + 1 < pairs.Length; i += 2)
        {
            fields[(string)pairs[i]!] = (byte[])pairs[i + 1]!;
        }

        expiresAt = ttl < 0 ? DateTimeOffset.MaxValue : DateTimeOffset.FromUnixTimeMilliseconds(now + ttl);
        return true;
    }

    private static string? Text(Dictionary<string, byte[]> fields, string name)
        => fields.TryGetValue(name, out var value) ? System.Text.Encoding.UTF8.GetString(value) : null;

    private static long Number(Dictionary<string, byte[]> fields, string name)
        => Text(fields, name) is { } text ? long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture) : 0;
}
