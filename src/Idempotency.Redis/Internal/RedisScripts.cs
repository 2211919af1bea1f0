namespace Idempotency.Redis.Internal;

/// <summary>
/// The Lua scripts behind each store operation. Every operation is exactly one of them, so each is atomic on its record
/// and costs one round trip. They touch only KEYS[1], the record's hash, which keeps them legal on Redis Cluster.
/// </summary>
/// <remarks>
/// <para>
/// They are sent with <c>IDatabaseAsync.ScriptEvaluateAsync(string, ...)</c>, which StackExchange.Redis 2.13 turns into
/// EVALSHA once it knows a server has the script; the first use per server is SCRIPT LOAD pipelined with EVAL (one
/// round trip). On a NOSCRIPT reply (server restarted, failed over, SCRIPT FLUSH) it forgets that server's scripts and
/// re-issues the command once, loading the script again; the script still runs exactly once. The <c>byte[]</c> hash
/// overload and <c>LoadedLuaScript</c> send EVALSHA only and fail on NOSCRIPT, which is why they are not used.
/// <c>RedisStoreRoundTripTests</c> pins all of this down against a real server.
/// </para>
/// <para>
/// Hash fields: <c>s</c> state (<c>i</c> in flight, <c>c</c> completed), <c>f</c> fingerprint, <c>t</c> fencing token
/// (in flight only), <c>r</c> response snapshot (completed only, <see cref="Idempotency.Storage.StoredResponseSerializer"/>). Every record carries
/// a PEXPIRE: the lease while in flight, the retention once completed.
/// </para>
/// <para>
/// The fencing token is compared as the decimal string the client sent, never with <c>tonumber</c>: Lua numbers are
/// doubles and would confuse tokens that differ only beyond 2^53.
/// </para>
/// </remarks>
internal static class RedisScripts
{
    public const long Acquired = 1;
    public const long InFlight = 2;
    public const long FingerprintMismatch = 3;

    /// <summary>
    /// ARGV: fingerprint, fencing token, lease in ms. Returns <see cref="Acquired"/>, <see cref="InFlight"/>,
    /// <see cref="FingerprintMismatch"/>, or the snapshot (a bulk string) of a completed record, so a replay is one round trip.
    /// </summary>
    public const string Begin = """
        local record = redis.call('HMGET', KEYS[1], 's', 'f', 'r')
        if not record[1] then
          redis.call('HSET', KEYS[1], 's', 'i', 'f', ARGV[1], 't', ARGV[2])
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
          return 1
        end
        if record[2] ~= ARGV[1] then
          return 3
        end
        if record[1] == 'c' then
          return record[3]
        end
        return 2
        """;

    /// <summary>ARGV: fencing token, lease in ms. Returns 1 when renewed, 0 when the caller does not own an in-flight record.</summary>
    public const string Renew = """
        local record = redis.call('HMGET', KEYS[1], 's', 't')
        if record[1] ~= 'i' or record[2] ~= ARGV[1] then
          return 0
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """;

    /// <summary>
    /// ARGV: fencing token, snapshot, retention in ms. Returns 1 when completed, 0 (nothing written) when the caller does
    /// not own an in-flight record. The token goes with the ownership: a completed record has no owner.
    /// </summary>
    public const string Complete = """
        local record = redis.call('HMGET', KEYS[1], 's', 't')
        if record[1] ~= 'i' or record[2] ~= ARGV[1] then
          return 0
        end
        redis.call('HSET', KEYS[1], 's', 'c', 'r', ARGV[2])
        redis.call('HDEL', KEYS[1], 't')
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """;

    /// <summary>ARGV: fencing token. Returns 1 when the record was deleted, 0 (nothing changed) when the caller does not own an in-flight record.</summary>
    public const string Release = """
        local record = redis.call('HMGET', KEYS[1], 's', 't')
        if record[1] ~= 'i' or record[2] ~= ARGV[1] then
          return 0
        end
        redis.call('DEL', KEYS[1])
        return 1
        """;
}
