using System.Net;
using Idempotency.Keys;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Idempotency.Tests.Infrastructure;
using Idempotency.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Tests.Middleware;

/// <summary>How the request body reaches the fingerprint through the middleware (docs/contract.md §3 and §6).</summary>
public sealed class RequestBodyFingerprintTests
{
    [Fact]
    public async Task Canonical_json_policy_refuses_a_retry_whose_case_clashing_names_bind_to_another_amount()
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Post("/canonical", "key-1", "{\"amount\":100,\"currency\":\"EUR\",\"Amount\":5000}"));
        var second = await app.Client.SendAsync(TestApp.Post("/canonical", "key-1", "{\"Amount\":5000,\"currency\":\"EUR\",\"amount\":100}"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await ProblemAssert.IsProblemAsync(second, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, app.Handlers.Executions("canonical"));
    }

    [Theory]
    [InlineData(40_000, null, true)]
    [InlineData(20_000, 16 * 1024, false)]
    public async Task A_body_read_before_the_handler_stays_in_memory_up_to_the_buffer_threshold_and_reaches_the_handler_whole(int size, int? threshold, bool inMemory)
    {
        // 40 000 bytes is over ASP.NET Core's own buffering default (30 KiB), which wrote such bodies to a temporary file
        // on every request, replays included.
        await using var app = await TestApp.StartAsync(
            options =>
            {
                if (threshold is { } bytes)
                {
                    options.RequestBodyBufferThreshold = bytes;
                }
            },
            map: static app => app.MapPost("/buffered", static async (HttpContext context, TestApp.Endpoints e) =>
            {
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                var memory = context.Request.Body is Microsoft.AspNetCore.WebUtilities.FileBufferingReadStream { InMemory: true };
                return Results.Text($"{e.Count("buffered")} {body.GetHashCode()} {body.Length} {memory}", statusCode: 201);
            }).RequireIdempotency());
        var payload = "{\"pad\":\"" + new string('x', size - 10) + "\"}";

        var first = await app.Client.SendAsync(TestApp.Post("/buffered", "key-1", payload));
        var replay = await app.Client.SendAsync(TestApp.Post("/buffered", "key-1", payload));

        Assert.Equal($"1 {payload.GetHashCode()} {payload.Length} {inMemory}", await first.Content.ReadAsStringAsync());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("buffered"));
    }

    [Fact]
    public async Task A_route_keyed_upload_whose_body_nobody_reads_before_the_handler_reaches_it_unbuffered()
    {
        // The key comes from the route and the fingerprint leaves the body out (an upload endpoint): nothing reads the
        // body before the handler, so buffering it would only copy it (past the threshold, to a temporary file).
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("upload", p =>
            {
                p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("id");
                p.FingerprintComponents = FingerprintComponents.Method | FingerprintComponents.Path;
            }),
            map: static app => app.MapPost("/uploads/{id}", static async (HttpContext context) =>
            {
                await context.Request.Body.CopyToAsync(Stream.Null);
                return Results.Text(context.Request.Body is Microsoft.AspNetCore.WebUtilities.FileBufferingReadStream ? "buffered" : "as it came", statusCode: 201);
            }).RequireIdempotency("upload"));

        var content = new ByteArrayContent(new byte[200_000]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        var response = await app.Client.PostAsync("/uploads/u-1", content);

        Assert.Equal("as it came", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_body_a_json_member_key_is_read_from_stays_in_memory_up_to_the_buffer_threshold()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("by-member", p => p.KeyResolver = IdempotencyKeyResolvers.FromJsonMember("/orderId")),
            map: static app => app.MapPost("/by-member", static async (HttpContext context) =>
            {
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                var memory = context.Request.Body is Microsoft.AspNetCore.WebUtilities.FileBufferingReadStream { InMemory: true };
                return Results.Text($"{body.Length} {memory}", statusCode: 201);
            }).RequireIdempotency("by-member"));
        var payload = "{\"orderId\":\"o-1\",\"pad\":\"" + new string('x', 40_000) + "\"}";

        var response = await app.Client.SendAsync(TestApp.Post("/by-member", key: null, payload));

        Assert.Equal($"{payload.Length} True", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(10L, 65_536, 10)]
    [InlineData(65_536L, 65_536, 65_536)]
    [InlineData(200_000L, 65_536, 65_536)]
    [InlineData(null, 65_536, 65_536)]
    public void A_body_is_buffered_with_no_more_memory_than_its_declared_length(long? contentLength, int configured, int expected)
    {
        // ASP.NET Core's buffering stream rents its whole memory threshold up front: a 10-byte body must not hold 64 KiB.
        Assert.Equal(expected, Idempotency.Fingerprinting.RequestFingerprinter.MemoryBufferThreshold(contentLength, configured));
    }

    [Fact]
    public async Task A_request_that_passes_through_without_a_key_reaches_the_handler_with_its_body_unbuffered()
    {
        // Buffering is for a body read before the handler; one nobody reads costs nothing.
        await using var app = await TestApp.StartAsync(map: static app => app.MapPost("/passing", static (HttpContext context) =>
            Results.Text(context.Request.Body is Microsoft.AspNetCore.WebUtilities.FileBufferingReadStream ? "buffered" : "as it came"))
            .RequireIdempotency("optional"));

        var response = await app.Client.SendAsync(TestApp.Post("/passing", key: null, "{\"amount\":100}"));

        Assert.Equal("as it came", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Body_an_outer_middleware_read_to_its_end_is_fingerprinted_whole_and_reaches_the_handler()
    {
        await using var app = await TestApp.StartAsync(beforeIdempotency: static app => app.Use(static async (context, next) =>
        {
            context.Request.EnableBuffering();
            await new StreamReader(context.Request.Body).ReadToEndAsync();
            await next(context);
        }));

        var first = await app.Client.SendAsync(TestApp.Post("/items", "key-1", "{\"amount\":100}"));
        var other = await app.Client.SendAsync(TestApp.Post("/items", "key-1", "{\"amount\":5000}"));

        Assert.Equal("{\"execution\":1,\"echo\":{\"amount\":100}}", await first.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(other, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Theory]
    [InlineData("/items", StatusCodes.Status413PayloadTooLarge)]
    [InlineData("/items", StatusCodes.Status400BadRequest)]
    [InlineData("/canonical", StatusCodes.Status413PayloadTooLarge)]
    [InlineData("/seq", StatusCodes.Status400BadRequest)]
    public async Task Body_the_server_refuses_to_read_is_answered_with_its_status_as_a_problem_without_store_call(string path, int status)
    {
        await using var app = await TestApp.StartAsync(beforeIdempotency: app => app.Use((context, next) =>
        {
            // What Kestrel throws for a body over MaxRequestBodySize (413) or a malformed chunk (400).
            context.Request.Body = new RefusingStream(new BadHttpRequestException("The request body cannot be read.", status));
            return next(context);
        }));

        var request = path == "/seq" ? TestApp.Sequenced(path, 1) : TestApp.Post(path, "key-1");
        var response = await app.Client.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)status, "request-body-invalid");
        Assert.Contains("The request body cannot be read.", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, app.Store.TotalCalls);
        Assert.Equal(0, app.Handlers.Executions(path.TrimStart('/')));
    }

    [Fact]
    public async Task Kestrel_refusing_a_body_over_its_size_limit_is_answered_413_request_body_invalid_without_store_call()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(static kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = 1024;
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency();
        builder.Services.AddSingleton(sp => new FaultyStore(ActivatorUtilities.CreateInstance<InMemoryIdempotencyStore>(sp)));
        builder.Services.AddSingleton<IIdempotencyStore>(sp => sp.GetRequiredService<FaultyStore>());
        await using var app = builder.Build();
        app.UseIdempotency();
        app.MapPost("/items", static () => "ran").RequireIdempotency();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        var response = await client.SendAsync(TestApp.Post("/items", "key-1", "{\"data\":\"" + new string('x', 4096) + "\"}"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "request-body-invalid");
        Assert.Equal(0, app.Services.GetRequiredService<FaultyStore>().TotalCalls);
    }

    /// <summary>A request body whose every read fails as Kestrel's does for a body it refuses.</summary>
    private sealed class RefusingStream(Exception exception) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw exception;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromException<int>(exception);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromException<int>(exception);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
