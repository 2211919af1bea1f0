using System.Net;
using System.Net.Http.Headers;
using Idempotency.Capture;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Tests.Middleware;

/// <summary>A record holds one representation; a retry that cannot decode it never receives it.</summary>
public sealed class CompressedReplayTests
{
    private static Task<TestApp> StartWithCompressionInsideAsync()
        => TestApp.StartAsync(
            services: static services => services.AddResponseCompression(),
            map: static app => app.UseResponseCompression());

    private static HttpRequestMessage Post(string? acceptEncoding)
    {
        var request = TestApp.Post("/items", "key-1");
        if (acceptEncoding is not null)
        {
            request.Headers.AcceptEncoding.ParseAdd(acceptEncoding);
        }

        return request;
    }

    [Fact]
    public async Task A_retry_without_accept_encoding_never_gets_a_gzip_replay()
    {
        await using var app = await StartWithCompressionInsideAsync();

        var first = await app.Client.SendAsync(Post("gzip"));
        var retry = await app.Client.SendAsync(Post(acceptEncoding: null));

        Assert.Equal("gzip", Assert.Single(first.Content.Headers.ContentEncoding));
        var problem = await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.NotAcceptable, "idempotency-representation-not-acceptable");
        Assert.Contains("gzip", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(retry.Content.Headers.ContentEncoding);
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task A_retry_that_accepts_the_recorded_coding_gets_the_replay()
    {
        await using var app = await StartWithCompressionInsideAsync();

        var first = await app.Client.SendAsync(Post("gzip"));
        var retry = await app.Client.SendAsync(Post("br;q=0.5, gzip"));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task With_compression_outside_the_middleware_every_retry_gets_its_own_representation()
    {
        await using var app = await TestApp.StartAsync(
            services: static services =>
            {
                services.AddResponseCompression();
                services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter>(new CompressionFirst());
            });

        await app.Client.SendAsync(Post("gzip"));
        var plain = await app.Client.SendAsync(Post(acceptEncoding: null));

        Assert.True(plain.Headers.Contains("Idempotent-Replayed"), $"{(int)plain.StatusCode} {plain.Headers} {plain.Content.Headers} {await plain.Content.ReadAsStringAsync()}");
        Assert.Empty(plain.Content.Headers.ContentEncoding);
        Assert.StartsWith("{\"execution\":1", await plain.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip", null, "gzip")]
    [InlineData("gzip", "", "gzip")]
    [InlineData("gzip", "gzip;q=0", "gzip")]
    [InlineData("gzip", "*;q=0", "gzip")]
    [InlineData("gzip", "br", "gzip")]
    [InlineData("gzip", "GZIP", null)]
    [InlineData("gzip", "*", null)]
    [InlineData("gzip", "gzip;q=0, *", "gzip")]
    [InlineData("identity", null, null)]
    [InlineData(null, null, null)]
    [InlineData("gzip, br", "gzip", "br")]
    public void The_recorded_coding_must_be_one_the_retry_accepts(string? contentEncoding, string? acceptEncoding, string? unacceptable)
        => Assert.Equal(unacceptable, ContentCodingNegotiation.FindUnacceptable(contentEncoding, acceptEncoding));

    private sealed class CompressionFirst : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseResponseCompression();
            next(app);
        };
    }
}
