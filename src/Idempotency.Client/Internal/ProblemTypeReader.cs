using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Idempotency.Client.Internal;

/// <summary>
/// Reads the <c>type</c> of a small <c>application/problem+json</c> response and leaves the response readable for the
/// caller. Only the responses the handler may retry are looked at, and only up to <see cref="MaxProblemBytes"/>.
/// </summary>
internal static class ProblemTypeReader
{
    /// <summary>
    /// The largest body read. The server's problem bodies are a few hundred bytes; a longer body is not one of them,
    /// and the caller gets it streamed as it came rather than buffered here.
    /// </summary>
    internal const int MaxProblemBytes = 16 * 1024;

    private const string ProblemJsonMediaType = "application/problem+json";

    public static async ValueTask<string?> ReadTypeAsync(HttpResponseMessage response, bool async, CancellationToken cancellationToken)
    {
        var content = response.Content;
        if (!IsProblemJson(content.Headers.ContentType) || content.Headers.ContentLength > MaxProblemBytes)
        {
            return null;
        }

        var stream = async
            ? await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false)
            : content.ReadAsStream(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(MaxProblemBytes + 1);
        try
        {
            var length = 0;
            while (length <= MaxProblemBytes)
            {
                var read = async
                    ? await stream.ReadAsync(buffer.AsMemory(length, MaxProblemBytes + 1 - length), cancellationToken).ConfigureAwait(false)
                    : stream.Read(buffer, length, MaxProblemBytes + 1 - length);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            var bytes = buffer.AsSpan(0, length).ToArray();
            if (length > MaxProblemBytes)
            {
                // Not a problem of this protocol: give the caller what was read followed by the unread rest. The old
                // content is not disposed, since that would close the stream the rest comes from.
                response.Content = CopyHeaders(content, new StreamContent(new PrefixedReadStream(bytes, stream)));
                return null;
            }

            response.Content = CopyHeaders(content, new ByteArrayContent(bytes));
            content.Dispose();
            return ParseType(bytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsProblemJson(MediaTypeHeaderValue? contentType)
        => string.Equals(contentType?.MediaType, ProblemJsonMediaType, StringComparison.OrdinalIgnoreCase);

    private static HttpContent CopyHeaders(HttpContent from, HttpContent to)
    {
        foreach (var header in from.Headers)
        {
            to.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return to;
    }

    private static string? ParseType(ReadOnlySpan<byte> json)
    {
        ReadOnlySpan<byte> byteOrderMark = [0xEF, 0xBB, 0xBF];
        if (json.StartsWith(byteOrderMark))
        {
            json = json[byteOrderMark.Length..];
        }

        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (isType)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // A body that claims to be problem+json but is not JSON is not a problem this handler retries.
        }

        return null;
    }
}
