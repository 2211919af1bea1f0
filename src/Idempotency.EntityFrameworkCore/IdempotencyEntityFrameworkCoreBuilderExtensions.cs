using Idempotency;
using Idempotency.EntityFrameworkCore;
using Idempotency.EntityFrameworkCore.Relational;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Entity Framework Core idempotency store.</summary>
public static class IdempotencyEntityFrameworkCoreBuilderExtensions
{
    /// <summary>
    /// Stores idempotency records and sequence streams in the database of <typeparamref name="TContext"/>, whose model
    /// must map the store's tables (<see cref="IdempotencyModelBuilderExtensions.MapIdempotencyTables"/>). Verified on
    /// PostgreSQL and SQLite; start-up fails for any other provider. A policy with transactional mode then commits each
    /// record in the same transaction as the handler's writes through the request's <typeparamref name="TContext"/>.
    /// </summary>
    /// <typeparam name="TContext">The application's context, registered with <c>AddDbContext</c> (and optionally <c>AddDbContextFactory</c>, which the store then uses for its own short-lived contexts).</typeparam>
    /// <param name="builder">The idempotency builder returned by <c>AddIdempotency()</c>.</param>
    /// <param name="configure">Configures the store's purge; the defaults suit most applications.</param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder AddEntityFrameworkCoreStore<TContext>(this IIdempotencyBuilder builder, Action<EntityFrameworkCoreIdempotencyStoreOptions>? configure = null)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<EntityFrameworkCoreIdempotencyStoreOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EntityFrameworkCoreIdempotencyStoreOptions>, EntityFrameworkCoreIdempotencyStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // The last call names the context, as the last store added is the store.
        services.RemoveAll<StoreContextSource>();
        services.AddSingleton<StoreContextSource, StoreContextSource<TContext>>();
        services.TryAddScoped<RequestTransactionHolder>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ExpiredRowPurge>());
        builder.AddStore<EntityFrameworkCoreIdempotencyStore>();
        return builder;
    }
}
