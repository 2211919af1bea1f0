using System.Net;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace Idempotency.Tests.Middleware;

/// <summary>A pipeline in which the middleware cannot know the endpoint or the caller fails loudly, never open.</summary>
public sealed class PipelineOrderTests
{
    [Fact]
    public async Task Idempotency_before_authentication_fails_on_the_first_request_without_running_the_handler()
    {
        await using var app = await AuthenticatedApp.StartAsync(static app =>
        {
            app.UseIdempotency();
            app.UseAuthentication();
            app.UseAuthorization();
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Sub", "alice"))));

        Assert.Contains("UseAuthentication() (and app.UseAuthorization()) before app.UseIdempotency()", error.Message);
        Assert.Equal(0, app.Charges);
    }

    [Fact]
    public async Task Idempotency_before_authentication_never_replays_one_callers_response_to_another()
    {
        await using var app = await AuthenticatedApp.StartAsync(static app =>
        {
            app.UseIdempotency();
            app.UseAuthentication();
        });

        await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Sub", "alice"))));
        await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(AuthenticatedApp.Charge("order-1")));

        Assert.Equal(0, app.Charges);
    }

    [Fact]
    public async Task Idempotency_before_routing_fails_before_the_handler_runs()
    {
        await using var app = await AuthenticatedApp.StartAsync(static app =>
        {
            app.UseAuthentication();
            app.UseIdempotency();
            app.UseRouting();
            app.UseAuthorization();
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => app.Client.SendAsync(AuthenticatedApp.Charge("order-1", headers: ("X-Sub", "alice"))));

        Assert.Contains("after app.UseRouting()", error.Message);
        Assert.Equal(0, app.Charges);
    }

    [Fact]
    public async Task Before_routing_a_request_no_endpoint_matches_still_gets_its_404()
    {
        await using var app = await AuthenticatedApp.StartAsync(static app =>
        {
            app.UseIdempotency();
            app.UseRouting();
        });

        var response = await app.Client.PostAsync("/nowhere", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Idempotency_before_authorization_on_an_endpoint_that_requires_it_fails_without_taking_a_record()
    {
        await using var app = await AuthenticatedApp.StartAsync(static app =>
        {
            app.UseAuthentication();
            app.UseIdempotency();
            app.UseAuthorization();
        });
        var request = AuthenticatedApp.Charge("order-1", headers: ("X-Sub", "alice"));
        request.RequestUri = new Uri("/secure", UriKind.Relative);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(request));

        Assert.Contains("UseAuthorization() before app.UseIdempotency()", error.Message);
        Assert.Equal(0, app.Charges);
    }

    [Fact]
    public async Task Idempotency_before_authorization_with_a_fallback_policy_fails_even_on_an_endpoint_without_metadata()
    {
        // The fallback policy applies to /charge although it carries no [Authorize]; run before it, the middleware
        // would record and replay requests that authorization would refuse, in a scope it cannot trust.
        await using var app = await AuthenticatedApp.StartAsync(
            static app =>
            {
                app.UseRouting();
                app.UseAuthentication();
                app.UseIdempotency();
                app.UseAuthorization();
            },
            authorization: static options => options.FallbackPolicy =
                new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(AuthenticatedApp.Charge("order-1")));

        Assert.Contains("fallback policy", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, app.Charges);
    }

    [Fact]
    public async Task The_documented_order_serves_and_replays()
    {
        await using var app = await AuthenticatedApp.StartAsync(static app =>
        {
            app.UseRouting();
            app.UseAuthentication();
            app.UseAuthorization();
            app.UseIdempotency();
        });
        HttpRequestMessage Secure()
        {
            var request = AuthenticatedApp.Charge("order-1", headers: ("X-Sub", "alice"));
            request.RequestUri = new Uri("/secure", UriKind.Relative);
            return request;
        }

        var first = await app.Client.SendAsync(Secure());
        var retry = await app.Client.SendAsync(Secure());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Charges);
    }
}
