using System.Net;
using System.Text;
using Idempotency.Keys;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Idempotency.Tests.Keys;

/// <summary>
/// A resolved key (a route value, a body member) names an operation within its endpoint and method; a header key
/// names one within the whole scope, as before. Resolved keys are taken as they are, never unquoted.
/// </summary>
public sealed class ResolvedKeySpaceTests
{
    private static Task<TestApp> StartAsync()
        => TestApp.StartAsync(
            options => options.AddPolicy("by-id", p => p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("id")),
            map: static app =>
            {
                app.MapPut("/orders/{id}", (HttpContext context, TestApp.Endpoints e)
                    => Results.Text($"order {e.Count("orders")} key {context.Features.Get<IIdempotencyFeature>()!.Key}", statusCode: 201)).RequireIdempotency("by-id");
                app.MapDelete("/orders/{id}", (TestApp.Endpoints e) => Results.Text($"deleted {e.Count("deletes")}")).RequireIdempotency("by-id");
                app.MapPut("/carts", (TestApp.Endpoints e) => Results.Text($"cart {e.Count("carts")}", statusCode: 201)).RequireIdempotency();
            });

    private static HttpRequestMessage Put(string path, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        return request;
    }

    [Fact]
    public async Task The_same_route_value_on_two_resources_is_two_operations()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("by-id", p => p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("id")),
            map: static app =>
            {
                app.MapPut("/orders/{id}", (TestApp.Endpoints e) => Results.Text($"order {e.Count("orders")}", statusCode: 201)).RequireIdempotency("by-id");
                app.MapPut("/invoices/{id}", (TestApp.Endpoints e) => Results.Text($"invoice {e.Count("invoices")}", statusCode: 201)).RequireIdempotency("by-id");
            });
        static HttpRequestMessage Put(string path) => new(HttpMethod.Put, path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        var order = await app.Client.SendAsync(Put("/orders/1"));
        var invoice = await app.Client.SendAsync(Put("/invoices/1"));
        Assert.Equal(HttpStatusCode.Created, order.StatusCode);
        Assert.Equal(HttpStatusCode.Created, invoice.StatusCode);
        Assert.Equal(1, app.Handlers.Executions("invoices"));
    }

    [Fact]
    public async Task A_route_value_key_and_a_header_key_with_the_same_value_are_two_operations()
    {
        await using var app = await StartAsync();

        var order = await app.Client.SendAsync(Put("/orders/1"));
        var cart = await app.Client.SendAsync(Put("/carts", key: "1"));

        Assert.Equal(HttpStatusCode.Created, order.StatusCode);
        Assert.Equal(HttpStatusCode.Created, cart.StatusCode);
        Assert.Equal(1, app.Handlers.Executions("carts"));
    }

    [Fact]
    public async Task The_same_route_value_with_PUT_and_DELETE_is_two_operations()
    {
        await using var app = await StartAsync();

        var put = await app.Client.SendAsync(Put("/orders/1"));
        var delete = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/orders/1"));

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Equal("deleted 1", await delete.Content.ReadAsStringAsync());
        Assert.False(delete.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task A_retry_of_the_same_PUT_is_replayed()
    {
        await using var app = await StartAsync();

        var first = await app.Client.SendAsync(Put("/orders/1"));
        var retry = await app.Client.SendAsync(Put("/orders/1"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("order 1 key 1", await retry.Content.ReadAsStringAsync());
        Assert.Equal(1, app.Handlers.Executions("orders"));
    }

    [Fact]
    public async Task A_quoted_route_value_is_another_key_than_the_bare_one_and_the_feature_shows_it_as_sent()
    {
        await using var app = await StartAsync();

        var quoted = await app.Client.SendAsync(Put("/orders/%22abc%22"));
        var bare = await app.Client.SendAsync(Put("/orders/abc"));

        Assert.Equal("order 1 key \"abc\"", await quoted.Content.ReadAsStringAsync());
        Assert.Equal("order 2 key abc", await bare.Content.ReadAsStringAsync());
        Assert.False(bare.Headers.Contains("Idempotent-Replayed"));
    }

    // By index: a lone surrogate does not survive as attribute data.
    private static readonly string[] BadKeys = ["a\u0001b", "a\u0085b", "a\ud800b", "a\udc00", "a\u3000b"];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task A_resolved_key_with_a_control_character_white_space_or_half_a_surrogate_pair_is_400_invalid(int index)
    {
        var key = BadKeys[index];
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("custom", p => p.KeyResolver = _ => ValueTask.FromResult<string?>(key)),
            map: static app => app.MapPut("/custom", (TestApp.Endpoints e) => Results.Text($"custom {e.Count("custom")}")).RequireIdempotency("custom"));

        var response = await app.Client.SendAsync(Put("/custom"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "idempotency-key-invalid");
        Assert.Equal(0, app.Handlers.Executions("custom"));
    }

    [Fact]
    public async Task A_resolved_key_may_hold_quotes_and_non_ASCII_letters()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("custom", p => p.KeyResolver = static _ => ValueTask.FromResult<string?>("\"заказ\"-😀")),
            map: static app => app.MapPut("/custom", (TestApp.Endpoints e) => Results.Text($"custom {e.Count("custom")}")).RequireIdempotency("custom"));

        var first = await app.Client.SendAsync(Put("/custom"));
        var retry = await app.Client.SendAsync(Put("/custom"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task A_sequenced_request_with_a_resolved_key_is_replayed_by_its_number()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("seq-by-id", p =>
            {
                p.SequenceRequirement = SequenceRequirement.Required;
                p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("id");
            }),
            map: static app => app.MapPost("/seq/{id}", (TestApp.Endpoints e) => Results.Text($"seq {e.Count("seq")}")).RequireIdempotency("seq-by-id"));

        var first = await app.Client.SendAsync(TestApp.Sequenced("/seq/a", 1));
        var retry = await app.Client.SendAsync(TestApp.Sequenced("/seq/a", 1));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("seq 1", await retry.Content.ReadAsStringAsync());
    }

    [Fact]
    public void A_header_key_keeps_the_record_key_it_had_before_key_spaces()
    {
        // Computed from the earlier definition: SHA-256('P', len, scope)[..8] + SHA-256('K', len, scope, len, key)[..24], hex.
        const string Before = "CCA71E153CEE93CEEAFCE9C81FFCE7C78C4AD922715D0FA4CFF65959A4A5DAAF";

        Assert.Equal(Before, RecordKey.Create("u:alice", "order-1"));
        Assert.Equal(Before, RecordKey.Create("u:alice", "order-1", default(KeySpace)));
    }

    [Fact]
    public void A_resolved_key_keeps_its_scope_partition_and_differs_by_method_and_route()
    {
        var put = RecordKey.Create("u:alice", "1", SpaceOf("PUT", "/orders/{id}"));
        var lowerPut = RecordKey.Create("u:alice", "1", SpaceOf("put", "/orders/{id}"));
        var delete = RecordKey.Create("u:alice", "1", SpaceOf("DELETE", "/orders/{id}"));
        var invoices = RecordKey.Create("u:alice", "1", SpaceOf("PUT", "/invoices/{id}"));
        var header = RecordKey.Create("u:alice", "1");

        Assert.Equal(header[..RecordKey.ScopePartitionLength], put[..RecordKey.ScopePartitionLength]);
        Assert.Equal(put, lowerPut);
        Assert.Equal(4, new HashSet<string> { put, delete, invoices, header }.Count);
    }

    private static KeySpace SpaceOf(string method, string route)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.SetEndpoint(new RouteEndpoint(static _ => Task.CompletedTask, RoutePatternFactory.Parse(route), 0, EndpointMetadataCollection.Empty, "endpoint"));
        return KeySpace.Of(context);
    }
}
