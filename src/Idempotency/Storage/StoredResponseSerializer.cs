using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Idempotency.Storage;

/// <summary>
/// Turns a <see cref="StoredResponse"/> into bytes and back: the one format every store that keeps bytes uses, so a
/// replay reads one value and no JSON or base64 sits between the store and the response body.
/// </summary>
/// <remarks>
/// <para>
/// The first byte is the format version (<see cref="FormatVersion"/>). A reader rejects any other version, unknown
/// flags, truncation and trailing bytes with <see cref="InvalidDataException"/>, so a record written by a future
/// format is never replayed half-understood; the middleware answers such a record with
/// <c>500 idempotency-record-unreadable</c> and never runs the request again. A new format gets a new version byte and
/// later readers keep reading the old ones. Lengths in the input are checked against what is left of it before anything
/// is allocated, so corrupt or hostile bytes cannot make the reader allocate more than a small multiple of their length.
/// </para>
/// <para>Version 1, little-endian throughout; <c>varuint</c> is LEB128 (7 bits per byte, low group first, at most 5 bytes):</para>
/// <code>
/// u8      version = 1
/// u16     status code (100..999)
/// u8      flags: bit 0 = body stored; other bits 0
/// varuint header count
///   varuint name length, name (UTF-8)
///   varuint value count
///     varuint value length, value (UTF-8; a null value is written as empty)
/// varuint body length, body
/// </code>
/// <para>
/// Version 2 (<see cref="ProtectedFormatVersion"/>) is a version-1 response protected with ASP.NET Core Data Protection,
/// written by the overloads that take an <see cref="IDataProtector"/> (see <see cref="IdempotencyOptions.StoredResponseProtector"/>):
/// </para>
/// <code>
/// u8      version = 2
/// bytes   IDataProtector.Protect(the version-1 bytes), to the end
/// </code>
/// <para>
/// The readers that take a protector read both versions, so a store may hold both while protection is switched on or
/// off; the protected payload names the key it was protected with, so records written before a key rotation stay
/// readable while that key is in the key ring. A payload that cannot be unprotected (its key is not in the key ring,
/// the bytes were altered) is an <see cref="InvalidDataException"/> like any unreadable response.
/// </para>
/// <para>
/// Version 3 (<see cref="CompressedFormatVersion"/>) is a version-1 response compressed with Brotli, written by the
/// overload that takes <see cref="IdempotencyOptions"/> when <see cref="IdempotencyOptions.CompressStoredResponses"/> is set
/// and compression pays. Compression comes before protection: a protected compressed response is version 2 holding the
/// version-3 bytes.
/// </para>
/// <code>
/// u8      version = 3
/// u8      algorithm = 1 (Brotli)
/// varuint length of the version-1 bytes
/// bytes   the version-1 bytes compressed, to the end
/// </code>
/// <para>
/// A reader allocates the stated length, never more, and only when it is at most the largest response the application
/// stores (<see cref="IdempotencyPolicy.MaxSnapshotBytes"/> of its largest policy, plus room for headers): a corrupt or
/// hostile payload that claims more, or decompresses to anything but exactly the stated length, is an
/// <see cref="InvalidDataException"/>. The writer never compresses a response larger than that bound.
/// </para>
/// </remarks>
public static class StoredResponseSerializer
{
    /// <summary>The format version this serializer writes, the first byte of every serialized response.</summary>
    public const byte FormatVersion = 1;

    /// <summary>The first byte of a response written protected: the version-1 bytes protected with an <see cref="IDataProtector"/> follow it.</summary>
    public const byte ProtectedFormatVersion = 2;

    /// <summary>The first byte of a compressed response: the version-1 bytes compressed with Brotli follow it.</summary>
    public const byte CompressedFormatVersion = 3;

    private const byte BodyStoredFlag = 1;
    private const int FixedHeaderSize = 1 + 2 + 1;
    private const byte BrotliAlgorithm = 1;

    // Room for a response's headers above its body's limit when bounding a compressed response.
    private const int HeaderAllowance = 64 * 1024;

    // The bound for readers that are not given the options: the largest MaxSnapshotBytes the options accept, plus headers.
    private const int MaxDecompressedLength = (64 * 1024 * 1024) + HeaderAllowance;

    // Brotli's default window (4 MiB), as BrotliStream's.
    private const int BrotliWindow = 22;

    // Header names and values most responses carry: a reader returns these instances instead of decoding a new string
    // for each, so a replay allocates only what is particular to its response (a Location, say). Matched byte for
    // byte, so every header comes back exactly as it was written. Grouped by UTF-8 length, so any other string costs
    // one array lookup before it is decoded.
    private static readonly (byte[] Utf8, string Value)[][] CommonHeaderStringsByLength = GroupByUtf8Length(
    [
        HeaderNames.ContentType, HeaderNames.Location, HeaderNames.CacheControl, HeaderNames.ETag, HeaderNames.Vary,
        HeaderNames.LastModified, HeaderNames.ContentEncoding, HeaderNames.ContentLanguage, HeaderNames.ContentDisposition,
        HeaderNames.ContentLocation, HeaderNames.Expires, HeaderNames.Link, HeaderNames.RetryAfter, HeaderNames.Pragma,
        "application/json", "application/json; charset=utf-8", "application/problem+json", "application/problem+json; charset=utf-8",
        "text/plain; charset=utf-8", "text/html; charset=utf-8", "no-cache", "no-store", "private", "Accept-Encoding", "br", "gzip",
    ]);

    /// <summary>The exact number of bytes <paramref name="response"/> takes serialized.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The serialized length in bytes.</returns>
    /// <exception cref="ArgumentException">The response is larger than an array can hold.</exception>
    public static int GetSerializedLength(StoredResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var headers = response.Headers;
        long size = FixedHeaderSize + VarUIntSize(headers.Count);
        for (var i = 0; i < headers.Count; i++)
        {
            var header = headers[i];
            size += StringSize(header.Key);
            var values = header.Value;
            size += VarUIntSize(values.Count);
            for (var j = 0; j < values.Count; j++)
            {
                size += StringSize(values[j]);
            }
        }

        size += VarUIntSize(response.Body.Length) + response.Body.Length;
        if (size > Array.MaxLength)
        {
            throw new ArgumentException("The response is too large to store.", nameof(response));
        }

        return (int)size;
    }

    /// <summary>Serializes <paramref name="response"/> to the start of <paramref name="destination"/>.</summary>
    /// <param name="response">The response.</param>
    /// <param name="destination">At least <see cref="GetSerializedLength"/> bytes.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public static int Serialize(StoredResponse response, Span<byte> destination)
    {
        var length = GetSerializedLength(response);
        if (destination.Length < length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the response needs {length}.", nameof(destination));
        }

        return Write(response, destination);
    }

    /// <summary>Serializes <paramref name="response"/> into <paramref name="destination"/>, asking it for the exact length at once.</summary>
    /// <param name="response">The response.</param>
    /// <param name="destination">Receives the bytes.</param>
    public static void Serialize(StoredResponse response, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var length = GetSerializedLength(response);
        var written = Write(response, destination.GetSpan(length));
        destination.Advance(written);
    }

    /// <summary>Serializes <paramref name="response"/> to a new array of exactly the right length.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The serialized response.</returns>
    public static byte[] Serialize(StoredResponse response)
    {
        var buffer = new byte[GetSerializedLength(response)];
        Write(response, buffer);
        return buffer;
    }

    /// <summary>
    /// Serializes <paramref name="response"/> to a new array, protected with <paramref name="protector"/> in the
    /// <see cref="ProtectedFormatVersion"/> format, or unprotected (as <see cref="Serialize(StoredResponse)"/>) when it is
    /// <see langword="null"/>.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <param name="protector">Protects the bytes, normally <see cref="IdempotencyOptions.StoredResponseProtector"/> when <see cref="IdempotencyOptions.ProtectStoredResponses"/> is set; <see langword="null"/> for none.</param>
    /// <returns>The serialized response.</returns>
    public static byte[] Serialize(StoredResponse response, IDataProtector? protector)
    {
        if (protector is null)
        {
            return Serialize(response);
        }

        return Protect(Serialize(response), protector);
    }

    private static byte[] Protect(byte[] plaintext, IDataProtector protector)
    {
        // IDataProtector takes and returns whole arrays: the plaintext needs an array of its exact length, and the
        // protected bytes are copied once more behind the version byte.
        var protectedBytes = protector.Protect(plaintext);
        var result = GC.AllocateUninitializedArray<byte>(1 + protectedBytes.Length);
        result[0] = ProtectedFormatVersion;
        protectedBytes.CopyTo(result.AsSpan(1));
        return result;
    }

    /// <summary>The version-3 bytes of <paramref name="response"/> when compression pays, its version-1 bytes otherwise.</summary>
    private static byte[] SerializeCompressedIfSmaller(StoredResponse response, IdempotencyOptions options)
    {
        var length = GetSerializedLength(response);
        if (!response.IsBodyStored
            || response.Body.Length < options.StoredResponseCompressionThreshold
            || length > MaxDecompressedLengthFor(options)
            || HasContentEncoding(response))
        {
            var plain = new byte[length];
            Write(response, plain);
            return plain;
        }

        var headerLength = 1 + 1 + VarUIntSize(length);
        var plaintext = ArrayPool<byte>.Shared.Rent(length);

        // Compressed into a buffer one byte shorter than the plain snapshot would be: when Brotli cannot fit it there,
        // compression does not pay (already compressed or random data) and the plain snapshot is kept.
        var compressed = ArrayPool<byte>.Shared.Rent(Math.Max(length - 1, headerLength));
        try
        {
            Write(response, plaintext);
            var destination = compressed.AsSpan(headerLength, length - 1 - headerLength > 0 ? length - 1 - headerLength : 0);
            if (destination.IsEmpty
                || !BrotliEncoder.TryCompress(plaintext.AsSpan(0, length), destination, out var written, BrotliQuality(options.StoredResponseCompressionLevel), BrotliWindow))
            {
                return plaintext.AsSpan(0, length).ToArray();
            }

            var writer = new Writer(compressed);
            writer.WriteByte(CompressedFormatVersion);
            writer.WriteByte(BrotliAlgorithm);
            writer.WriteVarUInt(length);
            return compressed.AsSpan(0, headerLength + written).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
            ArrayPool<byte>.Shared.Return(plaintext);
        }
    }

    private static bool HasContentEncoding(StoredResponse response)
    {
        var headers = response.Headers;
        for (var i = 0; i < headers.Count; i++)
        {
            if (string.Equals(headers[i].Key, "Content-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // As ASP.NET Core's BrotliCompressionProvider maps levels.
    private static int BrotliQuality(CompressionLevel level) => level switch
    {
        CompressionLevel.NoCompression => 0,
        CompressionLevel.Fastest => 1,
        CompressionLevel.SmallestSize => 11,
        _ => 4,
    };

    private static int MaxDecompressedLengthFor(IdempotencyOptions options)
        => (int)Math.Min((long)options.LargestMaxSnapshotBytes + HeaderAllowance, MaxDecompressedLength);

    /// <summary>
    /// Serializes <paramref name="response"/> to a new array as <paramref name="options"/> ask: compressed
    /// (<see cref="CompressedFormatVersion"/>) when <see cref="IdempotencyOptions.CompressStoredResponses"/> is set and
    /// compression pays, then protected with <see cref="IdempotencyOptions.StoredResponseProtector"/> when
    /// <see cref="IdempotencyOptions.ProtectStoredResponses"/> is set. The store-facing overload: a store that keeps
    /// snapshots as bytes writes with it and reads with <see cref="Deserialize(ReadOnlySequence{byte}, IdempotencyOptions)"/>.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <param name="options">The application's idempotency options.</param>
    /// <returns>The serialized response.</returns>
    /// <remarks>
    /// The body is left uncompressed when it is smaller than <see cref="IdempotencyOptions.StoredResponseCompressionThreshold"/>,
    /// when the response has a <c>Content-Encoding</c> (already compressed), or when compression would not make the
    /// snapshot smaller.
    /// </remarks>
    public static byte[] Serialize(StoredResponse response, IdempotencyOptions options)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(options);
        var protector = options.ProtectStoredResponses ? options.StoredResponseProtector : null;
        if (!options.CompressStoredResponses)
        {
            return Serialize(response, protector);
        }

        var serialized = SerializeCompressedIfSmaller(response, options);
        return protector is null ? serialized : Protect(serialized, protector);
    }

    /// <summary>
    /// Reads a serialized response of any version (<see cref="FormatVersion"/>, <see cref="ProtectedFormatVersion"/>,
    /// <see cref="CompressedFormatVersion"/>, or protected and compressed) as a store configured with
    /// <paramref name="options"/> wrote it. A compressed response is decompressed only up to the largest response the
    /// options let a policy store (see the remarks on <see cref="StoredResponseSerializer"/>).
    /// </summary>
    /// <param name="data">Exactly one serialized response.</param>
    /// <param name="options">The application's idempotency options: <see cref="IdempotencyOptions.StoredResponseProtector"/> unprotects.</param>
    /// <returns>The response.</returns>
    /// <exception cref="InvalidDataException">
    /// The bytes are corrupt, of a format version this one does not read, decompress to more than the bound or to
    /// anything but their stated length, or a protected response cannot be unprotected.
    /// </exception>
    public static StoredResponse Deserialize(ReadOnlySequence<byte> data, IdempotencyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Deserialize(data, options.StoredResponseProtector, MaxDecompressedLengthFor(options));
    }

    /// <summary>
    /// Reads a serialized response, protected (<see cref="ProtectedFormatVersion"/>) or not. An unprotected body refers to
    /// <paramref name="data"/>'s memory as <see cref="Deserialize(ReadOnlySequence{byte})"/> does; a protected one to a
    /// new array.
    /// </summary>
    /// <param name="data">Exactly one serialized response.</param>
    /// <param name="protector">Unprotects protected responses, normally <see cref="IdempotencyOptions.StoredResponseProtector"/>; with <see langword="null"/>, a protected response is unreadable.</param>
    /// <returns>The response.</returns>
    /// <exception cref="InvalidDataException">
    /// The bytes are corrupt or of a format version this one does not read, or a protected response cannot be
    /// unprotected (no protector, its key is not in the key ring, or the bytes were altered); the inner exception is
    /// then the <see cref="CryptographicException"/>.
    /// </exception>
    public static StoredResponse Deserialize(ReadOnlySequence<byte> data, IDataProtector? protector)
        => Deserialize(data, protector, MaxDecompressedLength);

    private static StoredResponse Deserialize(ReadOnlySequence<byte> data, IDataProtector? protector, int maxDecompressedLength)
    {
        if (data.IsEmpty || FirstByte(data) != ProtectedFormatVersion)
        {
            return ReadPlainOrCompressed(data.IsSingleSegment ? data.First : data.ToArray(), maxDecompressedLength);
        }

        if (protector is null)
        {
            throw new InvalidDataException(
                $"The stored response has format version {ProtectedFormatVersion} (protected), and no protector is configured to read it: keep IdempotencyOptions.StoredResponseProtector set (ProtectStoredResponses(protectNewResponses: false) reads without protecting) until every protected record has expired.");
        }

        byte[] plaintext;
        try
        {
            plaintext = protector.Unprotect(data.Slice(1).ToArray());
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException(
                "The stored response is protected and cannot be unprotected: the key that protected it is not in this application's key ring (every instance must share one key ring and application name), or its bytes were altered.",
                ex);
        }

        // Only version 1 or 3 is valid inside: a protected payload holding another protected one is corruption.
        return ReadPlainOrCompressed(plaintext, maxDecompressedLength);
    }

    /// <summary>Reads a serialized response, copying its body out of <paramref name="data"/>.</summary>
    /// <param name="data">Exactly one serialized response.</param>
    /// <returns>The response.</returns>
    /// <exception cref="InvalidDataException">The bytes are corrupt, truncated, longer than one response, or of a format version this one does not read.</exception>
    public static StoredResponse Deserialize(ReadOnlySpan<byte> data)
    {
        if (!data.IsEmpty && data[0] == CompressedFormatVersion)
        {
            var decompressed = Decompress(data, MaxDecompressedLength);
            return Read(decompressed, decompressed);
        }

        return Read(data, memory: null);
    }

    /// <summary>
    /// Reads a serialized response. When <paramref name="data"/> is one segment (as a
    /// <see cref="ReadOnlySequence{T}"/> made from an array or a <see cref="ReadOnlyMemory{T}"/> is), the body refers
    /// to that memory without copying it, so the memory must not change while the response is in use.
    /// </summary>
    /// <param name="data">Exactly one serialized response.</param>
    /// <returns>The response.</returns>
    /// <exception cref="InvalidDataException">The bytes are corrupt, truncated, longer than one response, or of a format version this one does not read.</exception>
    public static StoredResponse Deserialize(ReadOnlySequence<byte> data)
        // Several segments are copied into one array first: no larger than the input, which the caller already holds.
        => ReadPlainOrCompressed(data.IsSingleSegment ? data.First : data.ToArray(), MaxDecompressedLength);

    /// <summary>
    /// Reads an unprotected response: version 1, whose body refers to <paramref name="memory"/>, or version 3,
    /// decompressed up to <paramref name="maxDecompressedLength"/> into an array of its own.
    /// </summary>
    private static StoredResponse ReadPlainOrCompressed(ReadOnlyMemory<byte> memory, int maxDecompressedLength)
    {
        if (!memory.IsEmpty && memory.Span[0] == CompressedFormatVersion)
        {
            var decompressed = Decompress(memory.Span, maxDecompressedLength);
            return Read(decompressed, decompressed);
        }

        return Read(memory.Span, memory);
    }

    /// <summary>
    /// The version-1 bytes inside a version-3 response. Allocates the stated length only when it is at most
    /// <paramref name="maxLength"/>, and fails unless the payload decompresses to exactly that many bytes, so no payload
    /// makes the reader hold more than the bound.
    /// </summary>
    private static byte[] Decompress(ReadOnlySpan<byte> data, int maxLength)
    {
        var reader = new Reader(data);
        reader.ReadByte();
        var algorithm = reader.ReadByte();
        if (algorithm != BrotliAlgorithm)
        {
            throw new InvalidDataException($"The stored response is compressed with unknown algorithm {algorithm}.");
        }

        var length = reader.ReadVarUInt();
        if (length > (uint)maxLength)
        {
            throw new InvalidDataException($"The stored response would decompress to {length} bytes, more than the {maxLength} bytes the largest stored response may take.");
        }

        var output = GC.AllocateUninitializedArray<byte>((int)length);
        if (!BrotliDecoder.TryDecompress(data[reader.Position..], output, out var written) || written != output.Length)
        {
            throw new InvalidDataException($"The stored response does not decompress to the {length} bytes it states.");
        }

        // A compressed payload holds a version-1 response only; Read rejects anything else.
        if (output.Length == 0 || output[0] != FormatVersion)
        {
            throw new InvalidDataException("The stored response's compressed payload is not a version-1 response.");
        }

        return output;
    }

    private static byte FirstByte(in ReadOnlySequence<byte> data)
    {
        Span<byte> first = stackalloc byte[1];
        data.Slice(0, 1).CopyTo(first);
        return first[0];
    }

    private static int Write(StoredResponse response, Span<byte> destination)
    {
        var writer = new Writer(destination);
        writer.WriteByte(FormatVersion);
        writer.WriteUInt16((ushort)response.StatusCode);
        writer.WriteByte(response.IsBodyStored ? BodyStoredFlag : (byte)0);

        var headers = response.Headers;
        writer.WriteVarUInt(headers.Count);
        for (var i = 0; i < headers.Count; i++)
        {
            var header = headers[i];
            writer.WriteString(header.Key);
            var values = header.Value;
            writer.WriteVarUInt(values.Count);
            for (var j = 0; j < values.Count; j++)
            {
                writer.WriteString(values[j]);
            }
        }

        writer.WriteVarUInt(response.Body.Length);
        writer.WriteBytes(response.Body.Span);
        return writer.Position;
    }

    // The body refers to memory when given (the same bytes as data), and is copied out of data otherwise.
    private static StoredResponse Read(ReadOnlySpan<byte> data, ReadOnlyMemory<byte>? memory)
    {
        var reader = new Reader(data);
        var version = reader.ReadByte();
        if (version != FormatVersion)
        {
            throw new InvalidDataException(version == ProtectedFormatVersion
                ? $"The stored response has format version {version}, protected; it is read with a protector (see IdempotencyOptions.StoredResponseProtector)."
                : $"The stored response has format version {version}; this version of Idempotency reads versions {FormatVersion} to {CompressedFormatVersion}.");
        }

        var statusCode = reader.ReadUInt16();
        if (statusCode is < 100 or > 999)
        {
            throw new InvalidDataException($"The stored response has status code {statusCode}.");
        }

        var flags = reader.ReadByte();
        if ((flags & ~BodyStoredFlag) != 0)
        {
            throw new InvalidDataException($"The stored response has unknown flags 0x{flags:X2}.");
        }

        var headerCount = reader.ReadCount();
        var headers = headerCount == 0 ? [] : new KeyValuePair<string, StringValues>[headerCount];
        for (var i = 0; i < headers.Length; i++)
        {
            var name = reader.ReadString();
            var valueCount = reader.ReadCount();
            StringValues value;
            if (valueCount == 0)
            {
                value = StringValues.Empty;
            }
            else if (valueCount == 1)
            {
                value = reader.ReadString();
            }
            else
            {
                var values = new string[valueCount];
                for (var j = 0; j < values.Length; j++)
                {
                    values[j] = reader.ReadString();
                }

                value = values;
            }

            headers[i] = new(name, value);
        }

        var bodyLength = reader.ReadCount();
        var bodyOffset = reader.Skip(bodyLength);
        var isBodyStored = (flags & BodyStoredFlag) != 0;
        if (!isBodyStored && bodyLength != 0)
        {
            throw new InvalidDataException("The stored response keeps a body although it is marked as not stored.");
        }

        reader.EnsureEnd();
        ReadOnlyMemory<byte> body = memory is { } backing
            ? backing.Slice(bodyOffset, bodyLength)
            : bodyLength == 0 ? ReadOnlyMemory<byte>.Empty : data.Slice(bodyOffset, bodyLength).ToArray();
        return new StoredResponse(statusCode, headers, body, isBodyStored);
    }

    private static (byte[] Utf8, string Value)[][] GroupByUtf8Length(string[] values)
    {
        var maxLength = 0;
        foreach (var value in values)
        {
            maxLength = Math.Max(maxLength, Encoding.UTF8.GetByteCount(value));
        }

        var groups = new (byte[] Utf8, string Value)[maxLength + 1][];
        Array.Fill(groups, []);
        foreach (var value in values)
        {
            var utf8 = Encoding.UTF8.GetBytes(value);
            groups[utf8.Length] = [.. groups[utf8.Length], (utf8, value)];
        }

        return groups;
    }

    private static long StringSize(string? value)
    {
        var length = value is null ? 0 : Encoding.UTF8.GetByteCount(value);
        return VarUIntSize(length) + length;
    }

    private static int VarUIntSize(int value)
    {
        var v = (uint)value;
        var size = 1;
        while (v >= 0x80)
        {
            v >>= 7;
            size++;
        }

        return size;
    }

    private ref struct Writer(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int Position { get; private set; }

        public void WriteByte(byte value) => _buffer[Position++] = value;

        public void WriteUInt16(ushort value)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer[Position..], value);
            Position += sizeof(ushort);
        }

        public void WriteVarUInt(int value)
        {
            var v = (uint)value;
            while (v >= 0x80)
            {
                _buffer[Position++] = (byte)(v | 0x80);
                v >>= 7;
            }

            _buffer[Position++] = (byte)v;
        }

        public void WriteString(string? value)
        {
            if (string.IsNullOrEmpty(value))
            {
                WriteVarUInt(0);
                return;
            }

            WriteVarUInt(Encoding.UTF8.GetByteCount(value));
            Position += Encoding.UTF8.GetBytes(value, _buffer[Position..]);
        }

        public void WriteBytes(ReadOnlySpan<byte> value)
        {
            value.CopyTo(_buffer[Position..]);
            Position += value.Length;
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> buffer)
    {
        private readonly ReadOnlySpan<byte> _buffer = buffer;
        private int _position;

        public byte ReadByte()
        {
            Need(1);
            return _buffer[_position++];
        }

        public readonly int Position => _position;

        /// <summary>A varuint that stands for no bytes of the input (a decompressed length): bounded by its caller.</summary>
        public uint ReadVarUInt()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = ReadByte();
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("The stored response has a malformed length.");
        }

        public ushort ReadUInt16()
        {
            Need(sizeof(ushort));
            var value = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[_position..]);
            _position += sizeof(ushort);
            return value;
        }

        /// <summary>A length or count: a varuint that must also fit in what is left of the input.</summary>
        public int ReadCount()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = ReadByte();
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    // Every count or length stands for at least one byte still to come (values, headers, or bytes), so a
                    // larger number is corruption; checking here keeps a bad length from allocating more than the input
                    // can hold.
                    if (value > (uint)(_buffer.Length - _position))
                    {
                        throw Truncated();
                    }

                    return (int)value;
                }
            }

            throw new InvalidDataException("The stored response has a malformed length.");
        }

        public string ReadString()
        {
            var length = ReadCount();
            if (length == 0)
            {
                return string.Empty;
            }

            var bytes = _buffer.Slice(_position, length);
            _position += length;
            if (length < CommonHeaderStringsByLength.Length)
            {
                foreach (var (utf8, common) in CommonHeaderStringsByLength[length])
                {
                    if (bytes.SequenceEqual(utf8))
                    {
                        return common;
                    }
                }
            }

            return Encoding.UTF8.GetString(bytes);
        }

        public int Skip(int length)
        {
            Need(length);
            var offset = _position;
            _position += length;
            return offset;
        }

        public readonly void EnsureEnd()
        {
            if (_position != _buffer.Length)
            {
                throw new InvalidDataException($"The stored response has {_buffer.Length - _position} unexpected trailing bytes.");
            }
        }

        private readonly void Need(int count)
        {
            if (count > _buffer.Length - _position)
            {
                throw Truncated();
            }
        }

        private static InvalidDataException Truncated() => new("The stored response is truncated.");
    }
}
