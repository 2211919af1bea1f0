using System.Net;
using Idempotency.AdminTests;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Tests.Admin;

/// <summary>The admin endpoints refuse to be mapped open or over a store they cannot inspect: at start-up, not at an operator's first request.</summary>
public sealed class AdminMappingTests
{
    [Fact]
    public async Task Mapping_without_an_authorization_policy_throws()
    {
        await using var app = Build(idempotency => { });

        var failure = Assert.Throws<InvalidOperationException>(() => app.MapIdempotencyAdmin("/admin", _ => { }));

        Assert.Contains(nameof(IdempotencyAdminOptions.AuthorizationPolicy), failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing", null)]
    [InlineData("operators", "missing")]
    public async Task Mapping_with_a_policy_that_was_never_added_throws(string policy, string? contentPolicy)
    {
        await using var app = Build(idempotency => { });

        var failure = Assert.Throws<InvalidOperationException>(() => app.MapIdempotencyAdmin("/admin", options =>
        {
            options.AuthorizationPolicy = policy;
            options.ContentAuthorizationPolicy = contentPolicy;
        }));

        Assert.Contains("'missing'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mapping_over_a_store_that_cannot_be_inspected_throws()
    {
        await using var app = Build(idempotency => idempotency.AddStore<KeyOnlyStore>());

        var failure = Assert.Throws<InvalidOperationException>(() => app.MapIdempotencyAdmin("/admin", options => options.AuthorizationPolicy = "operators"));

        Assert.Contains(nameof(KeyOnlyStore), failure.Message, StringComparison.Ordinal);
        Assert.Contains("IIdempotencyAdminStore", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mapping_without_authorization_services_throws()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency();
        await using var app = builder.Build();

        var failure = Assert.Throws<InvalidOperationException>(() => app.MapIdempotencyAdmin("/admin", options => options.AuthorizationPolicy = "operators"));

        Assert.Contains("AddAuthorization", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("enclosing group")]
    [InlineData("admin endpoints")]
    public async Task An_AllowAnonymous_convention_does_not_open_the_admin_endpoints(string allowAnonymousOn)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(AdminTestUserHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, AdminTestUserHandler>(AdminTestUserHandler.SchemeName, null);
        builder.Services.AddAuthorization(options => options.AddPolicy("operators", policy => policy.RequireRole("operator")));
        builder.Services.AddIdempotency();
        await using var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        var ops = app.MapGroup("/ops");
        if (allowAnonymousOn == "enclosing group")
        {
            // A careless integrator's group of internal endpoints, opened for a health probe among them.
            ops.AllowAnonymous();
        }

        var admin = ops.MapIdempotencyAdmin("/idempotency", options => options.AuthorizationPolicy = "operators");
        if (allowAnonymousOn == "admin endpoints")
        {
            admin.AllowAnonymous();
        }

        await app.StartAsync();
        var client = app.GetTestClient();
        var path = "/ops/idempotency/records/" + new string('A', 64);

        var anonymous = await client.GetAsync(path);
        var customer = new HttpRequestMessage(HttpMethod.Delete, path);
        customer.Headers.Add("X-Test-User", "alice");
        var refused = await client.SendAsync(customer);
        var operatorRequest = new HttpRequestMessage(HttpMethod.Get, path);
        operatorRequest.Headers.Add("X-Test-User", "ops");
        operatorRequest.Headers.Add("X-Test-Roles", "operator");
        var allowed = await client.SendAsync(operatorRequest);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, allowed.StatusCode);
    }

    private static WebApplication Build(Action<IIdempotencyBuilder> useStore)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddAuthorization(options => options.AddPolicy("operators", policy => policy.RequireAuthenticatedUser()));
        useStore(builder.Services.AddIdempotency());
        return builder.Build();
    }
}
