using System.Diagnostics.CodeAnalysis;
using Idempotency;
using Idempotency.Admin;
using Idempotency.Middleware;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the idempotency admin endpoints: inspect and delete records, inspect and reset sequence streams.</summary>
public static class IdempotencyAdminEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the admin endpoints under <paramref name="pattern"/>, behind the authorization policy that
    /// <paramref name="configure"/> names (see docs/operations.md for each endpoint):
    /// <c>GET</c> and <c>DELETE</c> <c>{pattern}/records/{recordId}</c> and <c>{pattern}/records?scope=&amp;key=</c>,
    /// <c>GET</c> and <c>DELETE</c> <c>{pattern}/streams/{streamId}</c> and <c>{pattern}/streams?scope=&amp;stream=</c>.
    /// Every action is logged and counted.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route prefix, for example <c>/admin/idempotency</c>.</param>
    /// <param name="configure">Names the authorization policies; <see cref="IdempotencyAdminOptions.AuthorizationPolicy"/> is required.</param>
    /// <returns>A builder for conventions on every admin endpoint (for example <c>RequireHost</c>).</returns>
    /// <exception cref="InvalidOperationException">
    /// No authorization policy is named, authorization or idempotency services are missing, or the store does not
    /// implement <see cref="Idempotency.Storage.IIdempotencyAdminStore"/>.
    /// </exception>
    public static IEndpointConventionBuilder MapIdempotencyAdmin(
        this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern, Action<IdempotencyAdminOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new IdempotencyAdminOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.AuthorizationPolicy))
        {
            throw new InvalidOperationException(
                $"The idempotency admin endpoints show and delete what the store holds for every caller, so they are never mapped open: set {nameof(IdempotencyAdminOptions)}.{nameof(IdempotencyAdminOptions.AuthorizationPolicy)} to the authorization policy an operator must satisfy.");
        }

        var services = endpoints.ServiceProvider;
        if (services.GetService<IdempotencyMiddlewareMarker>() is null)
        {
            throw new InvalidOperationException(
                "Unable to find the required idempotency services. Call 'services.AddIdempotency()' in the application's service configuration before 'MapIdempotencyAdmin()'.");
        }

        if (services.GetService<IAuthorizationPolicyProvider>() is not { } policies)
        {
            throw new InvalidOperationException(
                "The idempotency admin endpoints require authorization. Call 'services.AddAuthorization()' and add the policy named in IdempotencyAdminOptions.");
        }

        RequirePolicy(policies, options.AuthorizationPolicy, nameof(IdempotencyAdminOptions.AuthorizationPolicy));
        if (options.ContentAuthorizationPolicy is { } contentPolicy)
        {
            RequirePolicy(policies, contentPolicy, nameof(IdempotencyAdminOptions.ContentAuthorizationPolicy));
        }

        var admin = AdminEndpoints.Create(services, options);
        var group = endpoints.MapGroup(pattern);
        group.RequireAuthorization(options.AuthorizationPolicy);

        // Admin requests are never idempotent requests themselves, whatever the default policy covers.
        group.WithMetadata(new DisableIdempotencyAttribute());
        admin.Map(group);
        return group;
    }

    // The default provider answers synchronously; a custom one that does not is trusted to know its own policies.
    private static void RequirePolicy(IAuthorizationPolicyProvider policies, string name, string option)
    {
        var lookup = policies.GetPolicyAsync(name);
        if (lookup.IsCompletedSuccessfully && lookup.Result is null)
        {
            throw new InvalidOperationException(
                $"{nameof(IdempotencyAdminOptions)}.{option} names the authorization policy '{name}', which was never added. Add it with services.AddAuthorization(options => options.AddPolicy(\"{name}\", ...)).");
        }
    }
}
