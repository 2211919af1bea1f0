using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// Reads <c>maxmemory-policy</c> from every primary of a connection: every record has an expiry, so any policy other
/// than <c>noeviction</c> (<c>volatile-*</c> as much as <c>allkeys-*</c>) may drop records within their retention.
/// </summary>
internal static class RedisEvictionPolicy
{
    public const string NoEviction = "noeviction";

    /// <summary>Checks the policy and logs what it found.</summary>
    /// <returns>Why the store must not serve, when <paramref name="mode"/> is <see cref="RedisEvictionPolicyCheck.Refuse"/> and a primary evicts; otherwise <see langword="null"/>.</returns>
    /// <exception cref="RedisConnectionException">A primary cannot be reached: the check has to run again later.</exception>
    public static async Task<string?> CheckAsync(IConnectionMultiplexer connection, RedisEvictionPolicyCheck mode, ILogger logger, CancellationToken cancellationToken)
    {
        foreach (var server in connection.GetServers())
        {
            if (server.IsReplica)
            {
                continue;
            }

            var endpoint = EndPointCollection.ToString(server.EndPoint);
            string? policy;
            try
            {
                // Execute rather than IServer.ConfigGetAsync: the latter needs the connection's admin mode, which a
                // connection the application supplies rarely has, and the store needs no other admin command.
                var reply = await server.ExecuteAsync("CONFIG", ["GET", "maxmemory-policy"], CommandFlags.DemandMaster).WaitAsync(cancellationToken).ConfigureAwait(false);
                policy = ReadPolicy(reply);
            }
            catch (Exception ex) when (ex is RedisServerException or RedisCommandException && !RedisFailures.IsUnavailable(ex))
            {
                // CONFIG renamed, disabled or denied by an ACL (managed services): nothing the store can learn.
                RedisStoreLog.EvictionPolicyUnchecked(logger, endpoint, ex.Message);
                continue;
            }

            if (policy is null)
            {
                RedisStoreLog.EvictionPolicyUnchecked(logger, endpoint, "the server did not report it");
            }
            else if (!string.Equals(policy, NoEviction, StringComparison.OrdinalIgnoreCase))
            {
                if (mode == RedisEvictionPolicyCheck.Refuse)
                {
                    var refusal = $"The Redis idempotency store refuses to serve: Redis at {endpoint} has maxmemory-policy '{policy}', which can evict idempotency records within their retention, and a retry of an evicted request would run its operation again. Set maxmemory-policy to {NoEviction} and restart the application, or set {nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.EvictionPolicyCheck)} to {nameof(RedisEvictionPolicyCheck.Warn)}.";
                    RedisStoreLog.EvictionPolicyRefused(logger, refusal);
                    return refusal;
                }

                RedisStoreLog.EvictionPolicyEvicts(logger, endpoint, policy);
            }
        }

        return null;
    }

    // CONFIG GET answers a flat array of name, value pairs (a map in RESP3); an unknown parameter gives an empty one.
    private static string? ReadPolicy(RedisResult reply)
    {
        if (reply.Resp2Type != ResultType.Array)
        {
            return null;
        }

        var items = (RedisResult[])reply!;
        return items.Length >= 2 ? (string?)items[1] : null;
    }
}
