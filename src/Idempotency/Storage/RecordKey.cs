using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Idempotency.Keys;

namespace Idempotency.Storage;

/// <summary>
/// Derives store keys from a scope and a client-chosen name (an idempotency key or a stream name). Hashing keeps
/// principals' identifiers and client keys out of store key names and logs and bounds the length; the length
/// prefixes keep <c>("ab", "c")</c> and <c>("a", "bc")</c> apart, and the kind byte keeps a record, a stream and a
/// resolved key's record with the same name apart.
/// </summary>
/// <remarks>
/// A key is 64 hex characters: the first <see cref="ScopePartitionLength"/> are a hash of the scope alone, so every
/// key of one scope shares them and a store can bound one scope's share of its capacity without knowing the scope;
/// the other 48 are a hash of kind, scope and name (and, for a resolved key, the method and route of its
/// <see cref="KeySpace"/>). 192 bits keep records apart; 64 bits keep scopes' quotas apart.
/// </remarks>
internal static class RecordKey
{
    /// <summary>How many leading characters of a key identify its scope.</summary>
    public const int ScopePartitionLength = 16;

    private const int Length = 64;
    private const byte RecordKind = (byte)'K';
    private const byte StreamKind = (byte)'S';
    private const byte ScopeKind = (byte)'P';
    private const byte ResolvedRecordKind = (byte)'R';

    /// <summary>The store key of the key-mode record <paramref name="key"/> in <paramref name="scope"/>.</summary>
    public static string Create(string scope, string key) => Create(RecordKind, scope, key, method: null, route: null);

    /// <summary>
    /// The store key of the key-mode record <paramref name="key"/> within <paramref name="space"/> in
    /// <paramref name="scope"/>; for a header key's space the same as <see cref="Create(string, string)"/>.
    /// </summary>
    public static string Create(string scope, string key, KeySpace space)
        => space.IsScopeWide
            ? Create(RecordKind, scope, key, method: null, route: null)
            : Create(ResolvedRecordKind, scope, key, space.Method, space.Route);

    /// <summary>The store key of the sequence stream <paramref name="stream"/> in <paramref name="scope"/>.</summary>
    public static string CreateStream(string scope, string stream) => Create(StreamKind, scope, stream, method: null, route: null);

    /// <summary>The part of a key (from <see cref="Create(string, string)"/> or <see cref="CreateStream"/>) that all keys of its scope share.</summary>
    public static ReadOnlySpan<char> ScopePartition(string key)
        => key.Length >= ScopePartitionLength ? key.AsSpan(0, ScopePartitionLength) : key.AsSpan();

    private static string Create(byte kind, string scope, string key, string? method, string? route)
    {
        var scopeBytes = Encoding.UTF8.GetByteCount(scope);
        var keyBytes = Encoding.UTF8.GetByteCount(key);
        var methodBytes = method is null ? 0 : Encoding.UTF8.GetByteCount(method);
        var routeBytes = route is null ? 0 : Encoding.UTF8.GetByteCount(route);
        var length = 9 + scopeBytes + keyBytes + (method is null ? 0 : 8 + methodBytes + routeBytes);
        byte[]? rented = null;
        var buffer = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            buffer[0] = kind;
            BinaryPrimitives.WriteInt32LittleEndian(buffer[1..], scopeBytes);
            Encoding.UTF8.GetBytes(scope, buffer[5..]);
            BinaryPrimitives.WriteInt32LittleEndian(buffer[(5 + scopeBytes)..], keyBytes);
            Encoding.UTF8.GetBytes(key, buffer[(9 + scopeBytes)..]);
            if (method is not null)
            {
                var at = 9 + scopeBytes + keyBytes;
                BinaryPrimitives.WriteInt32LittleEndian(buffer[at..], methodBytes);
                Encoding.UTF8.GetBytes(method, buffer[(at + 4)..]);
                BinaryPrimitives.WriteInt32LittleEndian(buffer[(at + 4 + methodBytes)..], routeBytes);
                Encoding.UTF8.GetBytes(route, buffer[(at + 8 + methodBytes)..]);
            }

            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            Span<char> hex = stackalloc char[Length];

            // The scope's own hash: the kind byte 'P' keeps it apart from any record or stream hash.
            if (!ScopePartitionCache.TryCopy(scope, hex))
            {
                buffer[0] = ScopeKind;
                SHA256.HashData(buffer[..(5 + scopeBytes)], hash);
                WriteHex(hash[..(ScopePartitionLength / 2)], hex);
                ScopePartitionCache.Add(scope, hex[..ScopePartitionLength]);
            }

            buffer[0] = kind;
            SHA256.HashData(buffer[..length], hash);
            WriteHex(hash[..((Length - ScopePartitionLength) / 2)], hex[ScopePartitionLength..]);
            return new string(hex);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void WriteHex(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        const string Digits = "0123456789ABCDEF";
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = Digits[bytes[i] >> 4];
            destination[(2 * i) + 1] = Digits[bytes[i] & 0xF];
        }
    }
}
