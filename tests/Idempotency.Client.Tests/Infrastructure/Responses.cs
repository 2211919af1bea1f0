using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Idempotency.Client.Tests.Infrastructure;

/// <summary>Responses as the server middleware writes them.</summary>
public static class Responses
{
    public const string InFlight = "urn:idempotency:idempotency-request-in-flight";
    public const string StoreUnavailable = "urn:idempotency:idempotency-store-unavailable";
    public const string StoreFull = "urn:idempotency:idempotency-store-full";
    public const string SequenceGap = "urn:idempotency:sequence-gap";
    public const string NotReplayable = "urn:idempotency:idempotency-response-not-replayable";

    public static Func<HttpRequestMessage, HttpResponseMessage> Problem(HttpStatusCode status, string type, string? retryAfter = "1")
        => _ =>
        {
            var response = new HttpResponseMessage(status)
            {
                Content = new StringContent(
                    $$"""{"type":"{{type}}","title":"t","status":{{(int)status}},"detail":"d"}""",
                    Encoding.UTF8,
                    "application/problem+json"),
            };
            if (retryAfter is not null)
            {
                response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
            }

            return response;
        };

    public static Func<HttpRequestMessage, HttpResponseMessage> Status(HttpStatusCode status, string body = "", string mediaType = "application/json")
        => _ => new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };

    /// <summary>A response whose body can only be read once and has no Content-Length, as from a real connection.</summary>
    public static Func<HttpRequestMessage, HttpResponseMessage> Streamed(HttpStatusCode status, byte[] body, string mediaType)
        => _ =>
        {
            var content = new StreamContent(new ReadOnceStream(body));
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return new HttpResponseMessage(status) { Content = content };
        };

    private sealed class ReadOnceStream(byte[] body) : MemoryStream(body)
    {
        public override bool CanSeek => false;
    }
}
