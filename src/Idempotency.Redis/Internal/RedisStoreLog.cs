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
}
