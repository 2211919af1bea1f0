namespace Idempotency.Redis;

/// <summary>
/// What the Redis store does when the server's <c>maxmemory-policy</c> may evict keys. Every idempotency record has an
/// expiry, so an evicting policy (<c>allkeys-*</c> or <c>volatile-*</c>) can drop a record within its retention when
/// Redis runs out of memory, and a retry of that request then runs its operation again.
/// </summary>
public enum RedisEvictionPolicyCheck
{
    /// <summary>Logs a warning naming the policy and the fix (<c>noeviction</c>), and serves.</summary>
    Warn = 0,

    /// <summary>
    /// Logs an error and refuses to serve: every store operation throws an <see cref="InvalidOperationException"/> that
    /// names the policy (the middleware answers 500, never fail-open), until the application restarts.
    /// </summary>
    Refuse = 1,

    /// <summary>Does not read the policy, for servers whose policy is known to be <c>noeviction</c> but cannot be read.</summary>
    Off = 2,
}
