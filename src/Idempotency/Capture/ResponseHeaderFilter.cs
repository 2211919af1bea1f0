using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

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

    public static List<KeyValuePair<string, StringValues>> Capture(IHeaderDictionary headers, ISet<string> excluded, string replayedHeaderName)
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

            kept.Add(header);
        }

        return kept;
    }
}
