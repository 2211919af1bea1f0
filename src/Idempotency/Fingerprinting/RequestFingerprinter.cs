using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.ObjectPool;

namespace Idempotency.Fingerprinting;

/// <summary>
/// SHA-256 over the parts of a request a retry must repeat exactly. The body is read from its start and streamed
/// through the hash from a buffered request stream (which goes to a file past
/// <see cref="IdempotencyOptions.RequestBodyBufferThreshold"/>), so large bodies are never held whole in memory, and is
/// rewound for the handler. Canonical JSON holds at most the policy's bound in memory.
/// </summary>
internal static class RequestFingerprinter
{
    public const int Size = SHA256.HashSizeInBytes;

    private const int ReadBufferSize = 16 * 1024;
    private const int TextChunkChars = 256;
    private const int PartsBufferSize = 1024;

    private static readonly ObjectPool<IncrementalHash> HashPool =
        new DefaultObjectPool<IncrementalHash>(new IncrementalHashPolicy(), Environment.ProcessorCount * 4);

    // Each part is tagged and length-prefixed so that moving bytes between parts changes the fingerprint.
    private const byte MethodTag = (byte)'M';
    private const byte PathTag = (byte)'P';
    private const byte QueryTag = (byte)'Q';
    private const byte ContentTypeTag = (byte)'C';
    private const byte BodyTag = (byte)'B';
    private const byte ExtraTag = (byte)'X';

    /// <summary>
    /// Computes the fingerprint. <paramref name="extra"/> (may be null) is mixed in as its own part;
    /// <paramref name="exclusions"/> (may be null) are left out of a body fingerprinted in canonical form.
    /// </summary>
    public static async ValueTask<byte[]> ComputeAsync(
        HttpRequest request,
        FingerprintComponents components,
        bool canonicalJson,
        int maxCanonicalJsonBytes,
        JsonMemberExclusions? exclusions,
        string? extra,
        CancellationToken cancellationToken)
    {
        var hash = RentHash();
        var returnToPool = false;
        try
        {
            var contentType = request.ContentType;
            AppendRequestParts(hash, request, components, contentType, extra);

            if ((components & FingerprintComponents.Body) != 0 && MayHaveBody(request))
            {
                request.EnableBuffering();
                var body = request.Body;

                // The fingerprint covers the whole body even when an outer middleware buffered it and left it read.
                body.Position = 0;
                if (!canonicalJson || !IsJson(contentType)
                    || !await CanonicalJson.TryAppendBodyAsync(hash, body, maxCanonicalJsonBytes, request.ContentLength, exclusions, cancellationToken).ConfigureAwait(false))
                {
                    body.Position = 0;
                    await AppendBodyAsync(hash, body, cancellationToken).ConfigureAwait(false);
                }

                body.Position = 0;
            }

            var fingerprint = new byte[Size];
            hash.GetHashAndReset(fingerprint);
            returnToPool = true;
            return fingerprint;
        }
        finally
        {
            ReturnHash(hash, returnToPool);
        }
    }

    // Method, path, query, content type and extra reach the hash in one call rather than one or two each: every call
    // into the platform's hash costs about as much as hashing a hundred bytes. The bytes are those AppendText would
    // have appended part by part.
    private static void AppendRequestParts(IncrementalHash hash, HttpRequest request, FingerprintComponents components, string? contentType, string? extra)
    {
        var parts = new PartWriter(hash, stackalloc byte[PartsBufferSize]);
        if ((components & FingerprintComponents.Method) != 0)
        {
            parts.Write(MethodTag, request.Method);
        }

        if ((components & FingerprintComponents.Path) != 0)
        {
            var pathBase = request.PathBase.Value.AsSpan();
            var path = request.Path.Value.AsSpan();

            // One part: a surrogate pair split between the two would encode differently from the joined path.
            if (!pathBase.IsEmpty && char.IsHighSurrogate(pathBase[^1]))
            {
                parts.Write(PathTag, string.Concat(pathBase, path));
            }
            else
            {
                parts.Write(PathTag, pathBase, path);
            }
        }

        if ((components & FingerprintComponents.Query) != 0)
        {
            parts.Write(QueryTag, request.QueryString.Value);
        }

        if ((components & FingerprintComponents.ContentType) != 0)
        {
            parts.Write(ContentTypeTag, contentType);
        }

        if (extra is not null)
        {
            parts.Write(ExtraTag, extra);
        }

        parts.Flush();
    }

    /// <summary>
    /// The memory threshold to buffer a body with: the configured one, or the body's declared length when that is less.
    /// ASP.NET Core's buffering stream rents its whole memory threshold as soon as it is made, so a 10-byte body would
    /// otherwise hold the configured 64 KiB for the life of its request; a body is never longer than its Content-Length.
    /// </summary>
    internal static int MemoryBufferThreshold(long? contentLength, int configured)
        => contentLength is > 0 and var length && length < configured ? (int)length : configured;

    /// <summary>A SHA-256 hash from the pool; give it back with <see cref="ReturnHash"/>.</summary>
    internal static IncrementalHash RentHash() => HashPool.Get();

    /// <summary>Gives back a hash from <see cref="RentHash"/>; <paramref name="reset"/> says whether its last use ended with <c>GetHashAndReset</c>.</summary>
    internal static void ReturnHash(IncrementalHash hash, bool reset)
    {
        if (reset)
        {
            HashPool.Return(hash);
        }
        else
        {
            // A hash abandoned half-way holds partial state; dropping it is simpler than resetting it.
            hash.Dispose();
        }
    }

    // The tag, the body and its length reach the hash in as few calls as the reads allow (one for a body that arrives
    // in one read): bytes wait in the buffer until a full read's worth has gathered.
    private static async ValueTask AppendBodyAsync(IncrementalHash hash, Stream body, CancellationToken cancellationToken)
    {
        // Twice a read, so a full read always fits after what is pending; the pool's 32 KiB arrays, not its 64 KiB ones.
        var buffer = ArrayPool<byte>.Shared.Rent(2 * ReadBufferSize);
        buffer[0] = BodyTag;
        var pending = 1;
        long total = 0;
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(pending, Math.Min(ReadBufferSize, buffer.Length - pending - sizeof(long))), cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
                pending += read;
                if (pending >= ReadBufferSize)
                {
                    hash.AppendData(buffer, 0, pending);
                    pending = 0;
                }
            }

            BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(pending), total);
            hash.AppendData(buffer, 0, pending + sizeof(long));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Appends <paramref name="tag"/>, the UTF-8 length of <paramref name="value"/> and its UTF-8 bytes, encoded in small chunks.</summary>
    internal static void AppendText(IncrementalHash hash, byte tag, ReadOnlySpan<char> value)
    {
        var part = new PartWriter(hash, stackalloc byte[PartsBufferSize]);
        part.Write(tag, value);
        part.Flush();
    }

    internal static bool MayHaveBody(HttpRequest request)
    {
        if (request.ContentLength == 0)
        {
            return false;
        }

        return request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
    }

    internal static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var mediaType = contentType.AsSpan();
        var semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
        {
            mediaType = mediaType[..semicolon];
        }

        mediaType = mediaType.Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Tagged, length-prefixed UTF-8 parts gathered in a buffer and appended to the hash when it fills up.</summary>
    private ref struct PartWriter(IncrementalHash hash, Span<byte> buffer)
    {
        private readonly IncrementalHash _hash = hash;
        private readonly Span<byte> _buffer = buffer;
        private int _length;

        public void Write(byte tag, ReadOnlySpan<char> value) => Write(tag, value, []);

        public void Write(byte tag, ReadOnlySpan<char> first, ReadOnlySpan<char> second)
        {
            Reserve(5);
            _buffer[_length] = tag;
            BinaryPrimitives.WriteInt32LittleEndian(_buffer[(_length + 1)..], Encoding.UTF8.GetByteCount(first) + Encoding.UTF8.GetByteCount(second));
            _length += 5;
            WriteChars(first);
            WriteChars(second);
        }

        public void Flush()
        {
            if (_length > 0)
            {
                _hash.AppendData(_buffer[.._length]);
                _length = 0;
            }
        }

        private void WriteChars(ReadOnlySpan<char> value)
        {
            while (!value.IsEmpty)
            {
                // At most three bytes per UTF-16 unit (a surrogate pair is four bytes for two units).
                var take = Math.Min(value.Length, TextChunkChars);
                if (take < value.Length && char.IsHighSurrogate(value[take - 1]))
                {
                    take--;
                }

                Reserve(take * 3);
                _length += Encoding.UTF8.GetBytes(value[..take], _buffer[_length..]);
                value = value[take..];
            }
        }

        private void Reserve(int bytes)
        {
            if (_buffer.Length - _length < bytes)
            {
                Flush();
            }
        }
    }

    private sealed class IncrementalHashPolicy : PooledObjectPolicy<IncrementalHash>
    {
        public override IncrementalHash Create() => IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        // Returned only after GetHashAndReset, so the instance is clean.
        public override bool Return(IncrementalHash obj) => true;
    }
}
