using System.Net;
using System.Security.Claims;
using Idempotency.Policies;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace Idempotency.Tests.Middleware;

/// <summary>Two principals never see each other's records, whatever claims their authentication handler sets.</summary>
public sealed class ScopeIsolationTests
{
    private static readonly Action<WebApplication> Ordered = static app =>
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseIdempotency();
    };

    [Fact]
    public async Task Principals_with_only_a_name_claim_each_run_their_own_operation()
    {
        await using var app = await AuthenticatedApp.StartAsync(Ordered);

        var alice = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Name", "alice")));
        var bob = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Name", "bob")));

        Assert.Equal(HttpStatusCode.Created, alice.StatusCode);
        Assert.Equal(HttpStatusCode.Created, bob.StatusCode);
        Assert.False(bob.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("bob", bob.Headers.GetValues("X-Charged-For").Single());
        Assert.Equal(2, app.Charges);
    }

    [Fact]
    public async Task A_name_only_principal_still_gets_its_own_replay()
    {
        await using var app = await AuthenticatedApp.StartAsync(Ordered);

        await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Name", "alice")));
        var retry = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Name", "alice")));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Charges);
    }

    [Fact]
    public async Task A_subject_named_anonymous_does_not_share_records_with_unauthenticated_callers()
    {
        await using var app = await AuthenticatedApp.StartAsync(Ordered);

        await app.Client.SendAsync(AuthenticatedApp.Charge("order-1"));
        var subject = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Sub", "anonymous")));

        Assert.Equal(HttpStatusCode.Created, subject.StatusCode);
        Assert.False(subject.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Charges);
    }

    [Fact]
    public async Task A_name_that_equals_another_principals_subject_is_another_scope()
    {
        await using var app = await AuthenticatedApp.StartAsync(Ordered);

        await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Sub", "42")));
        var named = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Name", "42")));

        Assert.False(named.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Charges);
    }

    [Fact]
    public async Task The_same_subject_from_two_issuers_is_two_principals()
    {
        await using var app = await AuthenticatedApp.StartAsync(Ordered);

        await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-Sub", "42"), ("X-Issuer", "https://tenant-a.example")]));
        var other = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-Sub", "42"), ("X-Issuer", "https://tenant-b.example")]));
        var same = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-Sub", "42"), ("X-Issuer", "https://tenant-a.example")]));

        Assert.False(other.Headers.Contains("Idempotent-Replayed"));
        Assert.True(same.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Charges);
    }

    [Fact]
    public async Task NameIdentifier_identifies_a_principal_without_a_subject()
    {
        await using var app = await AuthenticatedApp.StartAsync(Ordered);

        await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-NameId", "u-1"), ("X-Name", "Sam")]));
        var otherSam = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-NameId", "u-2"), ("X-Name", "Sam")]));
        var retry = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-NameId", "u-1"), ("X-Name", "Sam")]));

        Assert.False(otherSam.Headers.Contains("Idempotent-Replayed"));
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Charges);
    }

    [Fact]
    public async Task An_authenticated_principal_without_any_identity_claim_is_a_configuration_error_not_a_shared_scope()
    {
        await using var app = await AuthenticatedApp.StartAsync(Ordered);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Authenticated", "claimless"))));

        Assert.Contains("ScopeResolver", error.Message);
        Assert.Equal(0, app.Charges);
    }

    [Fact]
    public async Task A_custom_tenant_resolver_keeps_tenants_apart_and_replays_within_one()
    {
        await using var app = await AuthenticatedApp.StartAsync(
            Ordered, options => options.ScopeResolver = static arguments => ValueTask.FromResult($"{arguments.Context.Request.Headers["X-Tenant"]}/{arguments.Context.User.Identity?.Name}"));

        await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-Name", "alice"), ("X-Tenant", "acme")]));
        var otherTenant = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-Name", "alice"), ("X-Tenant", "globex")]));
        var retry = await app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: [("X-Name", "alice"), ("X-Tenant", "acme")]));

        Assert.False(otherTenant.Headers.Contains("Idempotent-Replayed"));
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Charges);
    }

    [Fact]
    public async Task A_scope_resolver_that_returns_null_fails_with_a_message_naming_the_policy()
    {
        await using var app = await AuthenticatedApp.StartAsync(Ordered, options => options.ScopeResolver = static _ => ValueTask.FromResult<string>(null!));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(AuthenticatedApp.Charge("order-1")));

        Assert.Contains("scope resolver of idempotency policy '__Default' returned null", error.Message);
        Assert.Equal(0, app.Charges);
    }

    [Fact]
    public void Scopes_of_different_kinds_never_meet()
    {
        static HttpContext With(params Claim[] claims)
            => new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity(claims, "test")) };

        var scopes = new[]
        {
            PrincipalScope.Resolve(new DefaultHttpContext()),
            PrincipalScope.Resolve(With(new Claim("sub", "anonymous"))),
            PrincipalScope.Resolve(With(new Claim(ClaimTypes.NameIdentifier, "anonymous"))),
            PrincipalScope.Resolve(With(new Claim(ClaimTypes.Name, "anonymous"))),
            PrincipalScope.Custom("anonymous"),
            PrincipalScope.Custom(PrincipalScope.Resolve(With(new Claim("sub", "anonymous")))),
        };

        Assert.Equal(scopes.Length, scopes.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Claims_of_an_unauthenticated_identity_name_nobody()
    {
        var context = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice")])) };

        Assert.Equal(PrincipalScope.Anonymous, PrincipalScope.Resolve(context));
    }

    [Fact]
    public void A_request_nobody_authenticated_is_anonymous_without_an_empty_principal_being_made_for_it()
    {
        // HttpContext.User would make one (and an identity, and their lists) on every anonymous request.
        var context = new DefaultHttpContext();

        Assert.Equal(PrincipalScope.Anonymous, PrincipalScope.Resolve(context));
        Assert.Null(context.Features.Get<IHttpAuthenticationFeature>()?.User);
    }

    [Fact]
    public void A_principal_on_an_http_context_of_another_kind_is_its_own_scope()
    {
        // Only DefaultHttpContext keeps User in the authentication feature; another HttpContext's User is asked.
        var context = new UserFieldHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "42")], "custom")) };

        Assert.NotEqual(PrincipalScope.Anonymous, PrincipalScope.Resolve(context));
        Assert.Equal(PrincipalScope.Resolve(new DefaultHttpContext { User = context.User }), PrincipalScope.Resolve(context));
    }

    [Fact]
    public void An_issuer_and_a_value_cannot_be_split_two_ways()
    {
        static string Scope(string issuer, string value)
            => PrincipalScope.Resolve(new DefaultHttpContext
            {
                User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", value, ClaimValueTypes.String, issuer)], "test")),
            });

        Assert.NotEqual(Scope("a:b", "c"), Scope("a", "b:c"));
    }

    private sealed class UserFieldHttpContext : HttpContext
    {
        private readonly DefaultHttpContext _inner = new();

        public override IFeatureCollection Features => _inner.Features;

        public override HttpRequest Request => _inner.Request;

        public override HttpResponse Response => _inner.Response;

        public override ConnectionInfo Connection => _inner.Connection;

        public override WebSocketManager WebSockets => _inner.WebSockets;

        public override ClaimsPrincipal User { get; set; } = new();

        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

        public override IServiceProvider RequestServices { get; set; } = null!;

        public override CancellationToken RequestAborted { get; set; }

        public override string TraceIdentifier { get; set; } = "t";

        public override ISession Session { get; set; } = null!;

        public override void Abort()
        {
        }
    }
}
