using Idempotency;
using Idempotency.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the idempotency services.</summary>
public static class IdempotencyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the idempotency services with the in-memory store (unless another <see cref="IIdempotencyStore"/> is registered).
    /// Options are validated when the application starts.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>A builder to add a store, such as Redis.</returns>
    public static IIdempotencyBuilder AddIdempotency(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        Idempotency.Hosting.IdempotencyServiceRegistration.AddCore(services);
        return new Idempotency.Hosting.IdempotencyBuilder(services);
    }

    /// <summary>Adds the idempotency services and configures <see cref="IdempotencyOptions"/>.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>A builder to add a store, such as Redis.</returns>
    public static IIdempotencyBuilder AddIdempotency(this IServiceCollection services, Action<IdempotencyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        return services.AddIdempotency();
    }

    /// <summary>Configures the in-memory store, the default store.</summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="configure">Configures the store.</param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder AddInMemoryStore(this IIdempotencyBuilder builder, Action<InMemoryIdempotencyStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }
}
