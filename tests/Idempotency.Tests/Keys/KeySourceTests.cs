using System.Net;
using System.Text;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Tests.Keys;

/// <summary>Where a policy takes its key from: its own header, a route value, another header, a JSON member, or a custom resolver.</summary>
public sealed class KeySourceTests
{
    private static Task<TestApp> StartAsync(Action<IdempotencyPolicy> configure, KeyRequirement requirement = KeyRequirement.Required)
        => TestApp.StartAsync(
            options => options.AddPolicy("keyed", p =>
            {
                p.KeyRequirement = requirement;
                configure(p);
            }),
            map: static app =>
            {
                app.MapPost("/orders/{orderId}", async (HttpContext context) =>
                {
                    var n = app.Services.GetRequiredService<TestApp.Endpoints>().Count("orders");
                    var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                    return Results.Text($"execution {n} body {body}", statusCode: StatusCodes.Status201Created);
                }).RequireIdempotency("keyed");
            });

    private static HttpRequestMessage Order(string path = "/orders/o-1", string body = "{\"amount\":100}", params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private static async Task<string> DetailAsync(HttpResponseMessage response, HttpStatusCode status, string problem)
        => (await ProblemAssert.IsProblemAsync(response, status, problem)).GetProperty("detail").GetString()!;

    [Fact]
    public async Task A_policy_key_header_is_read_instead_of_the_options_header_and_named_in_problems()
    {
        await using var app = await StartAsync(static p => p.KeyHeaderName = "X-Request-Id");

        var missing = await app.Client.SendAsync(Order(headers: ("Idempotency-Key", "k-1")));
        var invalid = await app.Client.SendAsync(Order(headers: ("X-Request-Id", "has space")));
        var first = await app.Client.SendAsync(Order(headers: ("X-Request-Id", "k-1")));
        var retry = await app.Client.SendAsync(Order(headers: ("X-Request-Id", "k-1")));

        Assert.Contains("X-Request-Id", await DetailAsync(missing, HttpStatusCode.BadRequest, "idempotency-key-missing"), StringComparison.Ordinal);
        Assert.Contains("X-Request-Id", await DetailAsync(invalid, HttpStatusCode.BadRequest, "idempotency-key-invalid"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("orders"));
    }

    [Fact]
    public async Task A_key_from_a_route_value_replays_the_same_resource_and_runs_another()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("orderId"));

        var first = await app.Client.SendAsync(Order("/orders/o-1"));
        var retry = await app.Client.SendAsync(Order("/orders/o-1"));
        var other = await app.Client.SendAsync(Order("/orders/o-2"));

        Assert.Equal("execution 1 body {\"amount\":100}", await retry.Content.ReadAsStringAsync());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("execution 2 body {\"amount\":100}", await other.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_invalid_resolved_key_is_400_invalid_naming_its_source_not_the_key_header()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("orderId"));

        var response = await app.Client.SendAsync(Order("/orders/has%20space"));

        var detail = await DetailAsync(response, HttpStatusCode.BadRequest, "idempotency-key-invalid");
        Assert.Contains("route value 'orderId'", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("header", detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, app.Handlers.Executions("orders"));
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task A_resolved_key_longer_than_MaxKeyLength_is_400_invalid()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = static _ => ValueTask.FromResult<string?>(new string('k', 256)));

        var response = await app.Client.SendAsync(Order());

        var detail = await DetailAsync(response, HttpStatusCode.BadRequest, "idempotency-key-invalid");
        Assert.DoesNotContain("header", detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task A_webhook_delivery_header_is_the_key_and_problems_name_that_header()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = IdempotencyKeyResolvers.FromHeader("X-Delivery-Id"));

        var missing = await app.Client.SendAsync(Order(headers: ("Idempotency-Key", "k-1")));
        var twice = await app.Client.SendAsync(Order(headers: [("X-Delivery-Id", "d-1"), ("X-Delivery-Id", "d-2")]));
        await app.Client.SendAsync(Order(headers: ("X-Delivery-Id", "d-1")));
        var redelivery = await app.Client.SendAsync(Order(headers: ("X-Delivery-Id", "d-1")));

        Assert.Contains("X-Delivery-Id", await DetailAsync(missing, HttpStatusCode.BadRequest, "idempotency-key-missing"), StringComparison.Ordinal);
        Assert.Contains("X-Delivery-Id", await DetailAsync(twice, HttpStatusCode.BadRequest, "idempotency-key-invalid"), StringComparison.Ordinal);
        Assert.True(redelivery.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("orders"));
    }

    [Fact]
    public async Task A_key_from_a_JSON_member_replays_and_the_handler_still_reads_the_whole_body()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = IdempotencyKeyResolvers.FromJsonMember("/event/id"));
        const string Body = "{\"event\":{\"id\":\"evt_1\"},\"amount\":100}";

        var first = await app.Client.SendAsync(Order(body: Body));
        var retry = await app.Client.SendAsync(Order(body: Body));
        var other = await app.Client.SendAsync(Order(body: "{\"event\":{\"id\":\"evt_2\"},\"amount\":100}"));

        Assert.Equal("execution 1 body " + Body, await first.Content.ReadAsStringAsync());
        Assert.Equal("execution 1 body " + Body, await retry.Content.ReadAsStringAsync());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        Assert.Equal(2, app.Handlers.Executions("orders"));
    }

    [Fact]
    public async Task A_numeric_JSON_member_is_a_key_as_written()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = IdempotencyKeyResolvers.FromJsonMember("/id"));

        await app.Client.SendAsync(Order(body: "{\"id\":42}"));
        var retry = await app.Client.SendAsync(Order(body: "{\"id\":42}"));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task A_JSON_member_key_with_a_malformed_body_is_400_without_running_the_handler()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = IdempotencyKeyResolvers.FromJsonMember("/id"));

        var response = await app.Client.SendAsync(Order(body: "{\"id\":\"a\","));

        var detail = await DetailAsync(response, HttpStatusCode.BadRequest, "request-body-invalid");
        Assert.Contains("/id", detail, StringComparison.Ordinal);
        Assert.Equal(0, app.Handlers.Executions("orders"));
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task A_JSON_member_key_with_a_body_over_the_bound_is_413_without_running_the_handler()
    {
        await using var app = await StartAsync(static p =>
        {
            p.KeyResolver = IdempotencyKeyResolvers.FromJsonMember("/id");
            p.MaxCanonicalJsonBytes = 64;
        });

        var response = await app.Client.SendAsync(Order(body: "{\"id\":\"a\",\"pad\":\"" + new string('x', 100) + "\"}"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "request-body-invalid");
        Assert.Equal(0, app.Handlers.Executions("orders"));
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task A_JSON_body_without_the_member_has_no_key_named_by_its_pointer()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = IdempotencyKeyResolvers.FromJsonMember("/event/id"));

        var absent = await app.Client.SendAsync(Order(body: "{\"event\":{}}"));
        var notText = await app.Client.SendAsync(Order(body: "{\"event\":{\"id\":{\"nested\":1}}}"));

        Assert.Contains("/event/id", await DetailAsync(absent, HttpStatusCode.BadRequest, "idempotency-key-missing"), StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(notText, HttpStatusCode.BadRequest, "idempotency-key-missing");
        Assert.Equal(0, app.Handlers.Executions("orders"));
    }

    [Fact]
    public async Task An_optional_policy_whose_resolver_finds_no_key_runs_unprotected()
    {
        await using var app = await StartAsync(static p => p.KeyResolver = IdempotencyKeyResolvers.FromJsonMember("/id"), KeyRequirement.Optional);

        await app.Client.SendAsync(Order(body: "{}"));
        var second = await app.Client.SendAsync(Order(body: "{}"));

        Assert.Equal("execution 2 body {}", await second.Content.ReadAsStringAsync());
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task A_resolver_that_completes_asynchronously_and_sees_the_policy_name_is_awaited()
    {
        string? policyName = null;
        await using var app = await StartAsync(p => p.KeyResolver = async arguments =>
        {
            await Task.Yield();
            policyName = arguments.PolicyName;
            return arguments.Context.Request.Headers["X-Custom"].ToString();
        });

        var missing = await app.Client.SendAsync(Order());
        await app.Client.SendAsync(Order(headers: ("X-Custom", "c-1")));
        var retry = await app.Client.SendAsync(Order(headers: ("X-Custom", "c-1")));

        var detail = await DetailAsync(missing, HttpStatusCode.BadRequest, "idempotency-key-missing");
        Assert.DoesNotContain("header", detail, StringComparison.OrdinalIgnoreCase);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("keyed", policyName);
    }

    [Fact]
    public async Task A_sequenced_request_takes_its_fingerprint_key_from_the_policy_source()
    {
        await using var app = await TestApp.StartAsync(options => options.AddPolicy("seq-keyed", p =>
        {
            p.SequenceRequirement = SequenceRequirement.Required;
            p.KeyHeaderName = "X-Request-Id";
        }), map: static app => app.MapPost("/seq-keyed", () => Results.Text("ok")).RequireIdempotency("seq-keyed"));

        var first = TestApp.Sequenced("/seq-keyed", 1);
        first.Headers.TryAddWithoutValidation("X-Request-Id", "r-1");
        var changedKey = TestApp.Sequenced("/seq-keyed", 1);
        changedKey.Headers.TryAddWithoutValidation("X-Request-Id", "r-2");
        var invalid = TestApp.Sequenced("/seq-keyed", 2);
        invalid.Headers.TryAddWithoutValidation("X-Request-Id", "has space");

        await app.Client.SendAsync(first);
        await ProblemAssert.IsProblemAsync(await app.Client.SendAsync(changedKey), HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Contains("X-Request-Id", await DetailAsync(await app.Client.SendAsync(invalid), HttpStatusCode.BadRequest, "idempotency-key-invalid"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("id")]
    [InlineData("/a~2b")]
    [InlineData("/a~")]
    public void FromJsonMember_refuses_what_is_not_a_pointer_to_a_member(string pointer)
        => Assert.Throws<ArgumentException>(() => IdempotencyKeyResolvers.FromJsonMember(pointer));

    [Fact]
    public void FromHeader_refuses_an_invalid_header_name()
        => Assert.Throws<ArgumentException>(() => IdempotencyKeyResolvers.FromHeader("Bad Header"));
}
