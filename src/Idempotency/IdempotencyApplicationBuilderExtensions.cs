using Idempotency.Middleware;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the idempotency middleware to the pipeline.</summary>
public static class IdempotencyApplicationBuilderExtensions
{
    /// <summary>
    /// Adds the idempotency middleware. Place it after <c>UseRouting</c> (implicit in minimal hosting) and after
    /// authentication and authorization, so records are scoped to the authenticated principal and unauthorized
    /// requests never reach the store.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    /// <exception cref="InvalidOperationException"><c>AddIdempotency()</c> was not called.</exception>
    public static IApplicationBuilder UseIdempotency(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var isService = app.ApplicationServices.GetService<IServiceProviderIsService>();
        if (isService is not null && !isService.IsService(typeof(IdempotencyMiddlewareMarker)))
        {
            throw new InvalidOperationException(
                "Unable to find the required idempotency services. Call 'services.AddIdempotency()' in the application's service configuration before 'app.UseIdempotency()'.");
        }

        return app.UseMiddleware<IdempotencyMiddleware>();
    }
}
