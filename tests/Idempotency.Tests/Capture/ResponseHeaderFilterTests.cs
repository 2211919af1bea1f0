using Idempotency.Capture;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Tests.Capture;

public sealed class ResponseHeaderFilterTests
{
    [Fact]
    public void Cookies_dates_hop_by_hop_length_and_configured_headers_are_dropped()
    {
        var headers = new HeaderDictionary
        {
            ["Set-Cookie"] = "a=b",
            ["Date"] = "Mon, 01 Jan 2026 00:00:00 GMT",
            ["Connection"] = "close",
            ["Transfer-Encoding"] = "chunked",
            ["Content-Length"] = "5",
            ["X-Secret"] = "s",
            ["Location"] = "/payments/1",
            ["Content-Type"] = "application/json",
        };

        var kept = ResponseHeaderFilter.Capture(headers, new HashSet<string>(["x-secret"], StringComparer.OrdinalIgnoreCase), "Idempotent-Replayed");

        Assert.Equal(["Location", "Content-Type"], kept.Select(h => h.Key));
    }
}
