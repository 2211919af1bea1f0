namespace Idempotency.Redis.Internal;

/// <summary>
/// Registered by <c>AddRedisStore()</c> without options, which takes the connection from the service collection; lets the
/// options validator fail at start-up, rather than on the first request, when no connection is registered there.
/// </summary>
internal sealed class RedisServiceConnectionMarker;
