using System.Text;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.Tests.Capture;

/// <summary>Every way a handler can write a body is captured and replayed byte for byte.</summary>
public sealed class WritePathTests : IDisposable
{
    private static readonly byte[] Payload = CreatePayload();
    private readonly string _file = Path.GetTempFileName();

    public WritePathTests() => File.WriteAllBytes(_file, Payload);

    public void Dispose() => File.Delete(_file);

    [Theory]
    [InlineData("stream-async")]
    [InlineData("stream-sync")]
    [InlineData("body-writer")]
    [InlineData("body-writer-unflushed")]
    [InlineData("send-file")]
    [InlineData("chunks")]
    public async Task Body_written_through_any_path_is_replayed_byte_for_byte(string mode)
    {
        var file = _file;
        await using var app = await TestApp.StartAsync(map: a => a.MapPost("/write/{mode}", async (HttpContext context, string mode) =>
        {
            context.Response.ContentType = "application/octet-stream";
            switch (mode)
            {
                case "stream-async":
                    await context.Response.Body.WriteAsync(Payload);
                    break;
                case "stream-sync":
                    context.Features.GetRequiredFeature<IHttpBodyControlFeature>().AllowSynchronousIO = true;
                    context.Response.Body.Write(Payload, 0, Payload.Length);
                    break;
                case "body-writer":
                    await context.Response.BodyWriter.WriteAsync(Payload);
                    break;
                case "body-writer-unflushed":
                    Payload.CopyTo(context.Response.BodyWriter.GetSpan(Payload.Length));
                    context.Response.BodyWriter.Advance(Payload.Length);
                    break;
                case "send-file":
                    await context.Response.SendFileAsync(file);
                    break;
                case "chunks":
                    for (var offset = 0; offset < Payload.Length; offset += 1000)
                    {
                        await context.Response.Body.WriteAsync(Payload.AsMemory(offset, Math.Min(1000, Payload.Length - offset)));
                        await context.Response.Body.FlushAsync();
                    }

                    break;
            }
        }).RequireIdempotency());

        var first = await app.Client.SendAsync(TestApp.Post($"/write/{mode}", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post($"/write/{mode}", "key-1"));

        Assert.Equal(Payload, await first.Content.ReadAsByteArrayAsync());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(Payload, await retry.Content.ReadAsByteArrayAsync());
    }

    private static byte[] CreatePayload()
    {
        var payload = new byte[70_000];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(i * 31 % 256);
        }

        return payload;
    }
}
