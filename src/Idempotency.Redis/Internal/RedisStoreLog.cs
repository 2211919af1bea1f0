using Microsoft.Extensions.Logging;

namespace Idempotency.Redis.Internal;

/// <summary>
/// The Redis store's log events. Their ids are stable, and apart from the middleware's (1 and up), so that alerts can
/// match them.
/// </summary>
internal static partial class RedisStoreLog
{
    public const int EvictionPolicyEvictsId = 1001;
    public const int EvictionPolicyRefusedId = 1002;
    public const int EvictionPolicyUncheckedId = 1003;
    public const int ReplicaAcknowledgementShortfallId = 1004;
    public const int ReplicaAcknowledgementFailedId = 1005;

    [LoggerMessage(EvictionPolicyEvictsId, LogLevel.Warning,
        "Redis at {Endpoint} has maxmemory-policy '{Policy}', which can evict idempotency records within their retention when memory runs out; a retry of an evicted request runs its operation again. Set maxmemory-policy to noeviction (writes then fail with 503 when memory is full instead).",
        EventName = "EvictionPolicyEvicts")]
    public static partial void EvictionPolicyEvicts(ILogger logger, string endpoint, string policy);

    [LoggerMessage(EvictionPolicyRefusedId, LogLevel.Error,
        "{Message}",
        EventName = "EvictionPolicyRefused")]
    public static partial void EvictionPolicyRefused(ILogger logger, string message);

    [LoggerMessage(EvictionPolicyUncheckedId, LogLevel.Warning,
        "Could not read maxmemory-policy from Redis at {Endpoint} ({Reason}); CONFIG is often disabled on managed Redis services, which commonly default to volatile-lru and may evict idempotency records. Make sure the policy is noeviction, then set RedisIdempotencyStoreOptions.EvictionPolicyCheck to Off to silence this.",
        EventName = "EvictionPolicyUnchecked")]
    public static partial void EvictionPolicyUnchecked(ILogger logger, string endpoint, string reason);

    // The key is left out of both: the endpoint and the operation are enough to find a lagging replica, and a key
    // (even hashed) in a warning logged per completion would only grow the log.
    [LoggerMessage(ReplicaAcknowledgementShortfallId, LogLevel.Warning,
        "A {Operation} on Redis at {Endpoint} was acknowledged by {Acknowledged} of the {Required} replicas RedisIdempotencyStoreOptions.ReplicasToAcknowledge asks for within {TimeoutMilliseconds} ms. It stands, but a failover before the replicas catch up loses it: a lost completion's retry runs again, a lost lease lets a retry run while the first execution still does.",
        EventName = "ReplicaAcknowledgementShortfall")]
    public static partial void ReplicaAcknowledgementShortfall(ILogger logger, string operation, string endpoint, long acknowledged, int required, long timeoutMilliseconds);

    [LoggerMessage(ReplicaAcknowledgementFailedId, LogLevel.Warning,
        "Waiting for {Required} replicas to acknowledge a {Operation} on Redis at {Endpoint} failed ({Reason}). Whether the replicas have it is unknown: a failover may lose it, and its retry run again.",
        EventName = "ReplicaAcknowledgementFailed")]
    public static partial void ReplicaAcknowledgementFailed(ILogger logger, string operation, string endpoint, int required, string reason);
}
