namespace Idempotency.Redis.Internal;

/// <summary>
/// The Lua scripts behind the operator's view and repairs (<see cref="Idempotency.Storage.IIdempotencyAdminStore"/>).
/// Like every other store operation, each is one script on one key, so it is atomic and stays within one Redis
/// Cluster slot; the hashes they read are laid out in <see cref="RedisScripts"/> and <see cref="RedisStreamScripts"/>.
/// </summary>
internal static class RedisAdminScripts
{
    /// <summary>
    /// Returns <c>{now, pttl, fields}</c>: the server's clock in Unix milliseconds (the clock of every lease and of
    /// PEXPIRE), the key's remaining time to live (-2 when it is missing, -1 when it has none) and the hash as
    /// HGETALL returns it. A record's hash is four fields; a stream's is bounded by its window.
    /// </summary>
    public const string Inspect = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        return {now, redis.call('PTTL', KEYS[1]), redis.call('HGETALL', KEYS[1])}
        """;

    /// <summary>Returns 1 when the key existed (and so was live: Redis expires keys itself) and was deleted, else 0.</summary>
    public const string Delete = "return redis.call('DEL', KEYS[1])";
}
