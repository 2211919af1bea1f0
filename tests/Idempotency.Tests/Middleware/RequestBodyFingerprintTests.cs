using System.Net;
using Idempotency.Tests.Infrastructure;
using Idempotency.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Tests.Middleware;

/// <summary>How the request body reaches the fingerprint through the middleware (SPEC §3, §5).</summary>
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
}
