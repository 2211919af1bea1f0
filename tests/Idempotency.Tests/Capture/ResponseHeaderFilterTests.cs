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

        var kept = ResponseHeaderFilter.Capture(headers, new HashSet<string>(["x-secret"], StringComparer.OrdinalIgnoreCase), "Idempotent-Replayed", Unstarted());

        Assert.Equal(["Location", "Content-Type"], kept.Select(h => h.Key));
    }

    [Fact]
    public async Task A_content_coding_set_after_the_body_started_is_not_the_coding_of_the_kept_bytes()
    {
        IHeaderDictionary headers = new HeaderDictionary { ["Content-Type"] = "text/plain" };
        using var snapshot = new SnapshotBuffer(1024);
        var capture = new ResponseCaptureStream(Stream.Null, snapshot, CancellationToken.None, headers);

        await capture.WriteAsync("plain"u8.ToArray());
        headers.ContentEncoding = "gzip";

        var kept = ResponseHeaderFilter.Capture(headers, new HashSet<string>(), "Idempotent-Replayed", capture);

        Assert.Equal(["Content-Type"], kept.Select(h => h.Key));
    }

    [Fact]
    public async Task A_content_coding_the_handler_set_before_its_body_is_kept()
    {
        var headers = new HeaderDictionary { ["Content-Encoding"] = "br" };
        using var snapshot = new SnapshotBuffer(1024);
        var capture = new ResponseCaptureStream(Stream.Null, snapshot, CancellationToken.None, headers);

        await capture.WriteAsync(new byte[] { 1, 2, 3 });

        var kept = ResponseHeaderFilter.Capture(headers, new HashSet<string>(), "Idempotent-Replayed", capture);

        Assert.Equal("br", Assert.Single(kept).Value.ToString());
    }

    private static ResponseCaptureStream Unstarted()
        => new(Stream.Null, new SnapshotBuffer(0), CancellationToken.None, new HeaderDictionary());
}
