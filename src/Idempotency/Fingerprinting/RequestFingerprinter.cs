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
/// through the hash from a buffered request stream (which spills to disk past 30 KB), so large bodies are never held
/// whole in memory, and is rewound for the handler. Canonical JSON holds at most the policy's bound in memory.
/// </summary>
internal static class RequestFingerprinter
{
    public const int Size = SHA256.HashSizeInBytes;

    private const int ReadBufferSize = 16 * 1024;
    private const int TextChunkChars = 256;

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
            if ((components & FingerprintComponents.Method) != 0)
            {
                AppendText(hash, MethodTag, request.Method);
            }

            if ((components & FingerprintComponents.Path) != 0)
            {
                AppendText(hash, PathTag, request.PathBase.HasValue ? string.Concat(request.PathBase.Value, request.Path.Value) : request.Path.Value);
            }

            if ((components & FingerprintComponents.Query) != 0)
            {
                AppendText(hash, QueryTag, request.QueryString.Value);
            }

            var contentType = request.ContentType;
            if ((components & FingerprintComponents.ContentType) != 0)
            {
                AppendText(hash, ContentTypeTag, contentType);
            }

            if (extra is not null)
            {
                AppendText(hash, ExtraTag, extra);
            }

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

    internal static async ValueTask AppendBodyAsync(IncrementalHash hash, Stream body, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> tag = [BodyTag];
        hash.AppendData(tag);
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        long total = 0;
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(0, ReadBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                total += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        AppendLength(hash, total);
    }

    internal static void AppendLength(IncrementalHash hash, long length)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, length);
        hash.AppendData(bytes);
    }

    /// <summary>Appends <paramref name="tag"/>, the UTF-8 length of <paramref name="value"/> and its UTF-8 bytes, encoded in small chunks.</summary>
    internal static void AppendText(IncrementalHash hash, byte tag, ReadOnlySpan<char> value)
    {
        Span<byte> header = stackalloc byte[5];
        header[0] = tag;
        BinaryPrimitives.WriteInt32LittleEndian(header[1..], Encoding.UTF8.GetByteCount(value));
        hash.AppendData(header);

        Span<byte> buffer = stackalloc byte[TextChunkChars * 3];
        while (!value.IsEmpty)
        {
            var take = Math.Min(value.Length, TextChunkChars);

            // A surrogate pair split between chunks would encode as two replacement characters.
            if (take < value.Length && char.IsHighSurrogate(value[take - 1]))
            {
                take--;
            }

            var written = Encoding.UTF8.GetBytes(value[..take], buffer);
            hash.AppendData(buffer[..written]);
            value = value[take..];
        }
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

    private sealed class IncrementalHashPolicy : PooledObjectPolicy<IncrementalHash>
    {
        public override IncrementalHash Create() => IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        // Returned only after GetHashAndReset, so the instance is clean.
        public override bool Return(IncrementalHash obj) => true;
    }
}
