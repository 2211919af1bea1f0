namespace Idempotency.Redis.Internal;

/// <summary>Makes the fencing token of one ownership of one record.</summary>
/// <remarks>
/// A counter kept in the record would restart at 1 whenever the record expires and is created again, so a request
/// whose lease ran out long ago could hold the same token as the record's new owner and overwrite its result. A
/// counter in another key would need a second key in the script (and in the same cluster slot) that itself must never
/// expire. A random nonzero 63-bit number instead is unique per ownership without any state: two owners of the same
/// record share a token with probability 2^-63. The token is not a secret (it never leaves the application), so it
/// comes from <see cref="Random.Shared"/>: thread-safe without locks and seeded per thread from the OS. It is drawn on
/// every begin, replays included, and <c>RandomNumberGenerator</c> (a call into OpenSSL) cost a tenth of the
/// middleware's time on a Redis replay.
/// </remarks>
internal static class FencingTokens
{
    public static long Next() => Random.Shared.NextInt64(1, long.MaxValue);
}
