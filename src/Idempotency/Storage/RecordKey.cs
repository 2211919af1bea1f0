using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency.Storage;

/// <summary>
/// Derives the store key of a record from its scope and idempotency key. Hashing keeps principals' identifiers and
/// client keys out of store key names and logs, bounds the length, and the length prefix keeps
/// <c>("ab", "c")</c> and <c>("a", "bc")</c> apart.
/// </summary>
internal static class RecordKey
{
    public static string Create(string scope, string key)
    {
        var scopeBytes = Encoding.UTF8.GetByteCount(scope);
        var keyBytes = Encoding.UTF8.GetByteCount(key);
        var length = 8 + scopeBytes + keyBytes;
        byte[]? rented = null;
        var buffer = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer, scopeBytes);
            Encoding.UTF8.GetBytes(scope, buffer[4..]);
            BinaryPrimitives.WriteInt32LittleEndian(buffer[(4 + scopeBytes)..], keyBytes);
            Encoding.UTF8.GetBytes(key, buffer[(8 + scopeBytes)..]);

            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..length], hash);
            return Convert.ToHexString(hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
