using System.Buffers.Binary;
using System.Text;
using Idempotency.Storage;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Redis.Internal;

/// <summary>
/// The binary form of a <see cref="StoredResponse"/> kept in a record's <c>r</c> field: one compact field rather than a
/// field per header, so that a replay reads one value and no JSON or base64 sits between Redis and the response body.
/// </summary>
/// <remarks>
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
/// A reader rejects any other version, unknown flags, truncation and trailing bytes, so a record written by a future
/// format is never replayed half-understood. A new format gets a new version byte and this reader keeps reading 1.
/// </para>
/// </remarks>
internal static class StoredResponseFormat
{
    public const byte Version = 1;

    private const byte BodyStoredFlag = 1;
    private const int FixedHeaderSize = 1 + 2 + 1;

    /// <summary>The exact number of bytes <see cref="Write"/> needs for <paramref name="response"/>.</summary>
    public static int GetSize(StoredResponse response)
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

    /// <summary>Writes <paramref name="response"/> to the start of <paramref name="destination"/>, which must hold <see cref="GetSize"/> bytes.</summary>
    /// <returns>The number of bytes written.</returns>
    public static int Write(StoredResponse response, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(response);
        var writer = new Writer(destination);
        writer.WriteByte(Version);
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

    /// <summary>Writes <paramref name="response"/> to a new array of exactly the right size.</summary>
    public static byte[] ToArray(StoredResponse response)
    {
        var buffer = new byte[GetSize(response)];
        Write(response, buffer);
        return buffer;
    }

    /// <summary>Reads a snapshot. The body refers to <paramref name="snapshot"/> without copying it.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a snapshot this version understands.</exception>
    public static StoredResponse Read(byte[] snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var reader = new Reader(snapshot);
        var version = reader.ReadByte();
        if (version != Version)
        {
            throw new InvalidDataException($"The stored response has format version {version}; this version of Idempotency.Redis reads version {Version}.");
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
        return new StoredResponse(statusCode, headers, new ReadOnlyMemory<byte>(snapshot, bodyOffset, bodyLength), isBodyStored);
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

    private ref struct Reader(byte[] buffer)
    {
        private readonly byte[] _buffer = buffer;
        private int _position;

        public byte ReadByte()
        {
            Need(1);
            return _buffer[_position++];
        }

        public ushort ReadUInt16()
        {
            Need(sizeof(ushort));
            var value = BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(_position));
            _position += sizeof(ushort);
            return value;
        }

        /// <summary>A length or count: a varuint that must also fit in what is left of the snapshot.</summary>
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
                    // larger number is corruption; checking here keeps a bad length from allocating a huge array.
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

            var value = Encoding.UTF8.GetString(_buffer, _position, length);
            _position += length;
            return value;
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
