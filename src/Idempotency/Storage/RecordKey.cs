using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency.Storage;

/// <summary>
/// Derives store keys from a scope and a client-chosen name (an idempotency key or a stream name). Hashing keeps
/// principals' identifiers and client keys out of store key names and logs and bounds the length; the length
/// prefixes keep <c>("ab", "c")</c> and <c>("a", "bc")</c> apart, and the kind byte keeps a record and a stream
/// with the same name apart.
/// </summary>
internal static class RecordKey
{
    private const byte RecordKind = (byte)'K';
    private const byte StreamKind = (byte)'S';

    /// <summary>The store key of the key-mode record <paramref name="key"/> in <paramref name="scope"/>.</summary>
    public static string Create(string scope, string key) => Create(RecordKind, scope, key);

    /// <summary>The store key of the sequence stream <paramref name="stream"/> in <paramref name="scope"/>.</summary>
    public static string CreateStream(string scope, string stream) => Create(StreamKind, scope, stream);

    private static string Create(byte kind, string scope, string key)
    {
        var scopeBytes = Encoding.UTF8.GetByteCount(scope);
        var keyBytes = Encoding.UTF8.GetByteCount(key);
        var length = 9 + scopeBytes + keyBytes;
        byte[]? rented = null;
        var buffer = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            buffer[0] = kind;
            BinaryPrimitives.WriteInt32LittleEndian(buffer[1..], scopeBytes);
            Encoding.UTF8.GetBytes(scope, buffer[5..]);
            BinaryPrimitives.WriteInt32LittleEndian(buffer[(5 + scopeBytes)..], keyBytes);
            Encoding.UTF8.GetBytes(key, buffer[(9 + scopeBytes)..]);

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
