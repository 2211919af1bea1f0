using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Idempotency.Capture;

/// <summary>Chooses which response headers a record keeps.</summary>
internal static class ResponseHeaderFilter
{
    // Set-Cookie may carry a session meant for one response only; Date must be fresh; hop-by-hop headers (RFC 9110
    // §7.6.1) describe one connection; Content-Length is recomputed from the stored body on replay.
    private static readonly FrozenSet<string> AlwaysExcluded = new[]
    {
        "Set-Cookie", "Date", "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
        "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <param name="headers">The response headers after the handler.</param>
    /// <param name="excluded">The policy's own exclusions.</param>
    /// <param name="replayedHeaderName">The replay marker, never stored.</param>
    /// <param name="capture">The stream that kept the body: its <c>Content-Encoding</c> from the start of the response
    /// describes the kept bytes, whatever a layer outside set afterwards.</param>
    public static List<KeyValuePair<string, StringValues>> Capture(IHeaderDictionary headers, ISet<string> excluded, string replayedHeaderName, ResponseCaptureStream capture)
    {
        var kept = new List<KeyValuePair<string, StringValues>>(headers.Count);
        foreach (var header in headers)
        {
            if (AlwaysExcluded.Contains(header.Key)
                || excluded.Contains(header.Key)
                || string.Equals(header.Key, replayedHeaderName, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (capture.Started && string.Equals(header.Key, HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase))
            {
                if (!StringValues.IsNullOrEmpty(capture.ContentEncodingAtStart))
                {
                    kept.Add(new KeyValuePair<string, StringValues>(header.Key, capture.ContentEncodingAtStart));
                }

                continue;
            }

            kept.Add(header);
        }

        return kept;
    }
}
