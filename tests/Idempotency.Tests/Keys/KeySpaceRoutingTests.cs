using System.Net;
using System.Text;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Tests.Keys;

/// <summary>How routing's view of an endpoint (conventional routes, groups, extension methods) makes a resolved key's space.</summary>
public sealed class KeySpaceRoutingTests
{
    private static HttpRequestMessage Put(string path, string method = "PUT")
        => new(new HttpMethod(method), path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };

    // Conventional MVC routing: every action reached through "{controller}/{action}/{id?}" is a RouteEndpoint whose
    // RoutePattern.RawText is the conventional template itself, so all of them share one KeySpace.
    [Fact]
    public async Task Conventional_routing_the_same_id_on_two_controllers_is_two_operations()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("by-id", p => p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("id")),
            services: static s => s.AddControllers().AddApplicationPart(typeof(KeySpaceOrdersController).Assembly),
            map: static app => app.MapControllerRoute("default", "{controller}/{action}/{id?}").RequireIdempotency("by-id"));

        var order = await app.Client.SendAsync(Put("/KeySpaceOrders/Update/1"));
        var invoice = await app.Client.SendAsync(Put("/KeySpaceInvoices/Update/1"));

        Assert.Equal(HttpStatusCode.OK, order.StatusCode);
        Assert.Equal("order 1", await order.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, invoice.StatusCode);
        Assert.Equal("invoice 1", await invoice.Content.ReadAsStringAsync());
    }

    // The same with a body-only fingerprint (the path is already the resource): the invoice request is answered with
    // the order's replayed response, and the invoice handler never runs.
    [Fact]
    public async Task Conventional_routing_with_a_body_fingerprint_never_replays_one_controllers_response_for_another()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("by-id-body", p =>
            {
                p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("id");
                p.FingerprintComponents = FingerprintComponents.Body;
            }),
            services: static s => s.AddControllers().AddApplicationPart(typeof(KeySpaceOrdersController).Assembly),
            map: static app => app.MapControllerRoute("default", "{controller}/{action}/{id?}").RequireIdempotency("by-id-body"));

        await app.Client.SendAsync(Put("/KeySpaceOrders/Update/7"));
        var invoice = await app.Client.SendAsync(Put("/KeySpaceInvoices/Update/7"));

        Assert.Equal("invoice 1", await invoice.Content.ReadAsStringAsync());
    }

    // Routing matches methods case-insensitively, so PURGE and purge reach one endpoint and name one operation there:
    // the retry never runs the handler again. The method is part of the fingerprint as sent (methods are
    // case-sensitive in HTTP), so the differently spelled retry is a reused key, not a replay.
    [Fact]
    public async Task An_extension_method_in_another_case_is_the_same_operation_and_never_runs_twice()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("by-id", p => p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("id")),
            map: static app => app.MapMethods("/purge/{id}", ["PURGE"], (TestApp.Endpoints e) => Results.Text($"purged {e.Count("purge")}")).RequireIdempotency("by-id"));

        var first = await app.Client.SendAsync(Put("/purge/1", "PURGE"));
        var retry = await app.Client.SendAsync(Put("/purge/1", "purge"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, retry.StatusCode);
        Assert.Equal(1, app.Handlers.Executions("purge"));
    }

    // Route groups combine their prefixes into the pattern, so grouped endpoints are told apart.
    [Fact]
    public async Task Grouped_endpoints_with_the_same_relative_pattern_are_two_operations()
    {
        await using var app = await TestApp.StartAsync(
            options => options.AddPolicy("by-id", p => p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("id")),
            map: static app =>
            {
                app.MapGroup("/g-orders").MapPut("/{id}", (TestApp.Endpoints e) => Results.Text($"order {e.Count("g-orders")}")).RequireIdempotency("by-id");
                app.MapGroup("/g-invoices").MapPut("/{id}", (TestApp.Endpoints e) => Results.Text($"invoice {e.Count("g-invoices")}")).RequireIdempotency("by-id");
            });

        var order = await app.Client.SendAsync(Put("/g-orders/1"));
        var invoice = await app.Client.SendAsync(Put("/g-invoices/1"));

        Assert.Equal("order 1", await order.Content.ReadAsStringAsync());
        Assert.Equal("invoice 1", await invoice.Content.ReadAsStringAsync());
    }
}

public sealed class KeySpaceOrdersController : Controller
{
    [HttpPut]
    public IActionResult Update(string id, [FromServices] TestApp.Endpoints e) => Content($"order {e.Count("keyspace-orders")}");
}

public sealed class KeySpaceInvoicesController : Controller
{
    [HttpPut]
    public IActionResult Update(string id, [FromServices] TestApp.Endpoints e) => Content($"invoice {e.Count("keyspace-invoices")}");
}
