using System.Net;
using Idempotency.Policies;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Tests.Policies;

/// <summary>Scope, stream and storable-response resolvers take one arguments struct and may complete asynchronously.</summary>
public sealed class AsyncResolverTests
{
    [Fact]
    public async Task The_default_principal_scope_completes_synchronously()
    {
        var options = new IdempotencyOptions();
        var policy = new ResolvedPolicy(IdempotencyOptions.DefaultPolicyName, options.DefaultPolicy, options);

        var scope = policy.ResolveScopeAsync(new DefaultHttpContext());

        Assert.True(scope.IsCompletedSuccessfully);
        Assert.Equal(PrincipalScope.Anonymous, await scope);
    }

    [Fact]
    public async Task An_asynchronous_scope_resolver_keeps_tenants_apart_and_sees_the_policy_name()
    {
        string? policyName = null;
        await using var app = await TestApp.StartAsync(options => options.ScopeResolver = async arguments =>
        {
            await Task.Yield();
            policyName = arguments.PolicyName;
            return arguments.Context.Request.Headers["X-Tenant"].ToString();
        });

        await app.Client.SendAsync(WithTenant(TestApp.Post("/items", "k-1"), "acme"));
        var otherTenant = await app.Client.SendAsync(WithTenant(TestApp.Post("/items", "k-1"), "globex"));
        var retry = await app.Client.SendAsync(WithTenant(TestApp.Post("/items", "k-1"), "acme"));

        Assert.False(otherTenant.Headers.Contains("Idempotent-Replayed"));
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Handlers.Executions("items"));
        Assert.Equal(IdempotencyOptions.DefaultPolicyName, policyName);
    }

    [Fact]
    public async Task An_asynchronous_scope_resolver_returning_empty_fails_naming_the_policy()
    {
        await using var app = await TestApp.StartAsync(options => options.AddPolicy("tenant", p => p.ScopeResolver = static async _ =>
        {
            await Task.Yield();
            return "";
        }), map: static app => app.MapPost("/tenant", () => "ok").RequireIdempotency("tenant"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(TestApp.Post("/tenant", "k-1")));

        Assert.Contains("scope resolver of idempotency policy 'tenant' returned an empty string", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task A_custom_resolver_naming_anonymous_is_not_the_default_anonymous_scope()
    {
        await using var app = await TestApp.StartAsync(options => options.AddPolicy("custom-anonymous", p =>
            p.ScopeResolver = static _ => ValueTask.FromResult(PrincipalScope.Anonymous)),
            map: static app =>
            {
                app.MapPost("/custom-anonymous", (TestApp.Endpoints e) => Results.Text($"execution {e.Count("shared")}")).RequireIdempotency("custom-anonymous");
                app.MapPost("/default-anonymous", (TestApp.Endpoints e) => Results.Text($"execution {e.Count("shared")}")).RequireIdempotency();
            });

        await app.Client.SendAsync(TestApp.Post("/default-anonymous", "k-1"));
        var custom = await app.Client.SendAsync(TestApp.Post("/custom-anonymous", "k-1"));

        Assert.False(custom.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Handlers.Executions("shared"));
    }

    [Fact]
    public async Task An_asynchronous_stream_resolver_orders_each_stream_apart()
    {
        await using var app = await TestApp.StartAsync(options => options.AddPolicy("async-stream", p =>
        {
            p.SequenceRequirement = SequenceRequirement.Required;
            p.SequenceStreamResolver = static async arguments =>
            {
                await Task.Yield();
                return arguments.Context.Request.RouteValues["account"] as string;
            };
        }), map: static app => app.MapPost("/async/{account}", (string account) => Results.Text(account)).RequireIdempotency("async-stream"));

        var a1 = await app.Client.SendAsync(TestApp.Sequenced("/async/a", 1));
        var b1 = await app.Client.SendAsync(TestApp.Sequenced("/async/b", 1));
        var a3 = await app.Client.SendAsync(TestApp.Sequenced("/async/a", 3));

        Assert.Equal(HttpStatusCode.OK, a1.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b1.StatusCode);
        await ProblemAssert.IsProblemAsync(a3, HttpStatusCode.Conflict, "sequence-gap");
    }

    [Fact]
    public async Task An_asynchronous_stream_resolver_returning_an_invalid_name_is_400_sequence_stream_invalid()
    {
        await using var app = await TestApp.StartAsync(options => options.AddPolicy("bad-stream", p =>
        {
            p.SequenceRequirement = SequenceRequirement.Required;
            p.SequenceStreamResolver = static async _ =>
            {
                await Task.Yield();
                return new string('s', 1025);
            };
        }), map: static app => app.MapPost("/bad-stream", () => "ok").RequireIdempotency("bad-stream"));

        var response = await app.Client.SendAsync(TestApp.Sequenced("/bad-stream", 1));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "sequence-stream-invalid");
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task ShouldStoreResponse_sees_the_status_and_the_response_and_decides_what_is_replayed()
    {
        var seen = new List<(int Status, string? Policy, bool HasContext)>();
        await using var app = await TestApp.StartAsync(options => options.AddPolicy("store-created", p => p.ShouldStoreResponse = async arguments =>
        {
            await Task.Yield();
            lock (seen)
            {
                seen.Add((arguments.StatusCode, arguments.PolicyName, arguments.Context.Response.Headers.ContainsKey("X-Final")));
            }

            return arguments.Context.Response.Headers.ContainsKey("X-Final");
        }), map: static app => app.MapPost("/store-created/{final:bool}", (HttpContext context, bool final, TestApp.Endpoints e) =>
        {
            if (final)
            {
                context.Response.Headers["X-Final"] = "1";
            }

            return Results.Text($"execution {e.Count("store-created")}", statusCode: 202);
        }).RequireIdempotency("store-created"));

        await app.Client.SendAsync(TestApp.Post("/store-created/false", "k-1"));
        var rerun = await app.Client.SendAsync(TestApp.Post("/store-created/false", "k-1"));
        await app.Client.SendAsync(TestApp.Post("/store-created/true", "k-2"));
        var replay = await app.Client.SendAsync(TestApp.Post("/store-created/true", "k-2"));

        Assert.Equal("execution 2", await rerun.Content.ReadAsStringAsync());
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("execution 3", await replay.Content.ReadAsStringAsync());
        Assert.Equal([(202, "store-created", false), (202, "store-created", false), (202, "store-created", true)], seen);
    }

    private static HttpRequestMessage WithTenant(HttpRequestMessage request, string tenant)
    {
        request.Headers.TryAddWithoutValidation("X-Tenant", tenant);
        return request;
    }
}
