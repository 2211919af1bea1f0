using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.Middleware;

/// <summary>
/// Refuses to work in a pipeline where the middleware cannot know the caller, as <c>EndpointMiddleware</c> refuses an
/// endpoint with authorization metadata when no authorization middleware ran: before authentication every caller
/// is anonymous, so one caller's stored response would be replayed to another.
/// </summary>
internal sealed class PipelineOrder
{
    // Set by AuthorizationMiddleware when it has seen an endpoint (the key EndpointMiddleware checks).
    private const string AuthorizationInvokedKey = "__AuthorizationMiddlewareWithEndpointInvoked";

    private readonly bool _authenticationRegistered;
    private readonly bool _fallbackPolicy;

    public PipelineOrder(IServiceProvider services)
    {
        _authenticationRegistered = services.GetService<IAuthenticationSchemeProvider>() is not null;

        // A fallback policy makes authorization apply to endpoints without authorization metadata, and its schemes
        // may be the only place the caller is authenticated.
        _fallbackPolicy = services.GetService<IAuthorizationPolicyProvider>() is not null
            && services.GetService<IOptions<AuthorizationOptions>>()?.Value.FallbackPolicy is not null;
    }

    /// <exception cref="InvalidOperationException">Authentication or authorization the endpoint relies on runs after this middleware.</exception>
    public void Verify(HttpContext context, Endpoint endpoint)
    {
        // The authentication middleware leaves its feature behind; without it, context.User is nobody yet.
        if (_authenticationRegistered && context.Features.Get<IAuthenticationFeature>() is null)
        {
            throw new InvalidOperationException(
                $"The idempotency middleware ran before authentication for endpoint '{endpoint.DisplayName}': every caller would look anonymous " +
                "and share stored responses. Call app.UseAuthentication() (and app.UseAuthorization()) before app.UseIdempotency().");
        }

        // Items last: reading it allocates the request's item dictionary, which most requests never need.
        if ((_fallbackPolicy || endpoint.Metadata.GetMetadata<IAuthorizeData>() is not null)
            && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null
            && !context.Items.ContainsKey(AuthorizationInvokedKey))
        {
            throw new InvalidOperationException(
                $"Endpoint '{endpoint.DisplayName}' requires authorization (its metadata or the fallback policy), but the idempotency middleware ran before the authorization middleware: " +
                "requests that authorization would refuse would take idempotency records. Call app.UseAuthorization() before app.UseIdempotency().");
        }
    }
}
