using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Idempotency.Redis.Internal;

/// <summary>Makes the fencing token of one ownership of one record.</summary>
/// <remarks>
/// A counter kept in the record would restart at 1 whenever the record expires and is created again, so a request
/// whose lease ran out long ago could hold the same token as the record's new owner and overwrite its result. A
/// counter in another key would need a second key in the script (and in the same cluster slot) that itself must never
/// expire. A random nonzero 63-bit number instead is unique per ownership without any state: two owners of the same
/// record share a token with probability 2^-63. It is drawn from <see cref="RandomNumberGenerator"/> because that is
/// thread-safe without locks, not because the token is secret (it never leaves the application).
/// </remarks>
internal static class FencingTokens
{
    public static long Next()
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        long token;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            token = BinaryPrimitives.ReadInt64LittleEndian(bytes) & long.MaxValue;
        }
        while (token == 0);

        return token;
    }
}
