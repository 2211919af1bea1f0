using System.Net;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Idempotency.Testing;

namespace Idempotency.Tests.Middleware;

public sealed class EndpointSelectionTests
{
    [Fact]
    public async Task Endpoint_without_metadata_passes_through_without_store_calls()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/plain", "key-1"));
        var second = await app.Client.SendAsync(TestApp.Post("/plain", "key-1"));

        Assert.Equal("plain execution 2", await second.Content.ReadAsStringAsync());
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task Route_group_requirement_applies_to_its_endpoints_and_disable_overrides_it()
    {
        await using var app = await TestApp.StartAsync();

        var missing = await app.Client.SendAsync(TestApp.Post("/group/protected", key: null));
        var excluded = await app.Client.SendAsync(TestApp.Post("/group/excluded", key: null));

        await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.BadRequest, "idempotency-key-missing");
        Assert.Equal(HttpStatusCode.OK, excluded.StatusCode);
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task Global_default_policy_protects_post_and_patch_but_not_get()
    {
        await using var app = await TestApp.StartAsync(
            o => o.ApplyDefaultPolicyToUnsafeMethods = true,
            map: a =>
            {
                a.MapPost("/global", () => "post");
                a.MapPatch("/global", () => "patch");
                a.MapGet("/global", () => "get");
            });

        var post = await app.Client.SendAsync(TestApp.Post("/global", key: null));
        var patch = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/global"));
        var get = await app.Client.GetAsync("/global");

        await ProblemAssert.IsProblemAsync(post, HttpStatusCode.BadRequest, "idempotency-key-missing");
        await ProblemAssert.IsProblemAsync(patch, HttpStatusCode.BadRequest, "idempotency-key-missing");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    [Fact]
    public async Task Idempotent_attribute_on_a_handler_opts_it_in()
    {
        await using var app = await TestApp.StartAsync(map: a => a.MapPost("/attributed", [Idempotent] () => "ok"));

        var response = await app.Client.SendAsync(TestApp.Post("/attributed", key: null));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "idempotency-key-missing");
    }

    [Fact]
    public async Task Unknown_policy_name_fails_with_a_message_naming_it()
    {
        await using var app = await TestApp.StartAsync(map: a => a.MapPost("/unknown", () => "ok").RequireIdempotency("nope"));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(TestApp.Post("/unknown", "key-1")));

        Assert.Contains("'nope'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Problems_go_through_the_problem_details_service_when_registered()
    {
        await using var app = await TestApp.StartAsync(services: s => s.AddProblemDetails(o =>
            o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions["customized"] = true));

        var response = await app.Client.SendAsync(TestApp.Post("/items", key: null));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "idempotency-key-missing");
        Assert.True(problem.GetProperty("customized").GetBoolean());
    }

    [Fact]
    public async Task Custom_problem_type_base_is_used()
    {
        await using var app = await TestApp.StartAsync(o => o.ProblemTypeBaseUri = "https://errors.example.com/");

        var response = await app.Client.SendAsync(TestApp.Post("/items", key: null));

        var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("https://errors.example.com/idempotency-key-missing", json.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Custom_key_header_name_is_read()
    {
        await using var app = await TestApp.StartAsync(o => o.KeyHeaderName = "X-Request-Key");
        var request = TestApp.Post("/items", key: null);
        request.Headers.Add("X-Request-Key", "k1");

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
