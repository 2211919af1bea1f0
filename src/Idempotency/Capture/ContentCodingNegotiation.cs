using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Idempotency.Capture;

/// <summary>
/// Whether a retry accepts the content coding of a recorded response. A record holds one representation: with
/// response compression inside the idempotency middleware, the representation the first request accepted (gzip,
/// say). Replaying it to a retry that did not ask for it would hand the client bytes it cannot read.
/// </summary>
internal static class ContentCodingNegotiation
{
    private const string Identity = "identity";

    /// <summary>The first content coding of a recorded response's <paramref name="headers"/> that <paramref name="acceptEncoding"/> does not accept, or null.</summary>
    public static string? FindUnacceptable(IReadOnlyList<KeyValuePair<string, StringValues>> headers, StringValues acceptEncoding)
    {
        for (var i = 0; i < headers.Count; i++)
        {
            if (string.Equals(headers[i].Key, HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase))
            {
                return FindUnacceptable(headers[i].Value, acceptEncoding);
            }
        }

        return null;
    }

    /// <summary>The first coding of <paramref name="contentEncoding"/> that <paramref name="acceptEncoding"/> does not accept, or null when every one is accepted.</summary>
    /// <remarks>
    /// A request without <c>Accept-Encoding</c> accepts only <c>identity</c>: RFC 9110 allows any coding then, but no
    /// server compresses for such a request (ASP.NET Core's response compression does not), and a client that sent
    /// none has usually no decoder.
    /// </remarks>
    public static string? FindUnacceptable(StringValues contentEncoding, StringValues acceptEncoding)
    {
        if (StringValues.IsNullOrEmpty(contentEncoding))
        {
            return null;
        }

        StringWithQualityHeaderValue.TryParseList(acceptEncoding, out var accepted);
        foreach (var value in contentEncoding)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var range in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!range.Equals(Identity, StringComparison.OrdinalIgnoreCase) && !Accepts(accepted, range))
                {
                    return range;
                }
            }
        }

        return null;
    }

    private static bool Accepts(IList<StringWithQualityHeaderValue>? accepted, string coding)
    {
        if (accepted is null)
        {
            return false;
        }

        double? wildcard = null;
        for (var i = 0; i < accepted.Count; i++)
        {
            var item = accepted[i];
            var quality = item.Quality ?? 1.0;
            if (StringSegment.Equals(item.Value, coding, StringComparison.OrdinalIgnoreCase))
            {
                return quality > 0;
            }

            if (StringSegment.Equals(item.Value, "*", StringComparison.Ordinal))
            {
                wildcard = quality;
            }
        }

        return wildcard > 0;
    }
}
