using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Tests.Fingerprinting;

/// <summary>A JSON body may start with a UTF-8 byte order mark, which the handler's <c>ReadFromJsonAsync</c> skips; so do the key and the fingerprint.</summary>
public sealed class ByteOrderMarkTests
{
    private static HttpRequestMessage Post(string path, string json, bool byteOrderMark, string? key = null)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var content = new ByteArrayContent(byteOrderMark ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        return request;
    }

    [Fact]
    public async Task A_JSON_member_key_is_read_from_a_body_with_a_byte_order_mark()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("events", p => p.KeyResolver = IdempotencyKeyResolvers.FromJsonMember("/id")),
            map: static app => app.MapPost("/events", async (HttpContext context, TestApp.Endpoints e) =>
            {
                var body = await context.Request.ReadFromJsonAsync<JsonElement>();
                return Results.Text($"event {body.GetProperty("id").GetString()} {e.Count("events")}");
            }).RequireIdempotency("events"));

        var first = await app.Client.SendAsync(Post("/events", "{\"id\":\"evt-1\"}", byteOrderMark: true));
        var retry = await app.Client.SendAsync(Post("/events", "{\"id\":\"evt-1\"}", byteOrderMark: true));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("event evt-1 1", await first.Content.ReadAsStringAsync());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task A_canonical_fingerprint_is_the_same_with_and_without_a_byte_order_mark()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("canonical-bom", static p => p.CanonicalJsonFingerprint = true),
            map: static app => app.MapPost("/bom-canonical", (TestApp.Endpoints e) => Results.Text($"canonical {e.Count("canonical")}")).RequireIdempotency("canonical-bom"));

        var first = await app.Client.SendAsync(Post("/bom-canonical", "{\"a\":1,\"b\":2}", byteOrderMark: false, key: "k-1"));
        var retry = await app.Client.SendAsync(Post("/bom-canonical", "{\"b\":2,\"a\":1}", byteOrderMark: true, key: "k-1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("canonical"));
    }
}
