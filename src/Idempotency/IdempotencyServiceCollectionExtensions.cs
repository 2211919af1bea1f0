using System.Diagnostics.CodeAnalysis;
using Idempotency;
using Idempotency.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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

    /// <summary>
    /// Protects the response snapshots that stores keep as bytes (Redis, the EF Core store) with ASP.NET Core Data
    /// Protection, so a copy of the store (a backup, a replica, a dump) does not reveal them. Data Protection must be
    /// registered (<c>services.AddDataProtection()</c>), with a key ring that every instance shares and one application
    /// name, or start-up fails. Sets <see cref="IdempotencyOptions.StoredResponseProtector"/> (unless the application set
    /// it) and <see cref="IdempotencyOptions.ProtectStoredResponses"/>; the last call counts.
    /// </summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="purpose">The Data Protection purpose the protector is created with; a different purpose cannot read the snapshots.</param>
    /// <param name="protectNewResponses">
    /// <see langword="false"/> reads snapshots protected earlier but writes new ones unprotected: the way to switch
    /// protection off in a running system until the protected records have expired.
    /// </param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder ProtectStoredResponses(this IIdempotencyBuilder builder, string purpose = "Idempotency.StoredResponse", bool protectNewResponses = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(purpose);
        builder.Services.RemoveAll<Idempotency.Hosting.StoredResponseProtectionRequest>();
        builder.Services.AddSingleton(new Idempotency.Hosting.StoredResponseProtectionRequest(purpose, protectNewResponses));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<IdempotencyOptions>, Idempotency.Hosting.StoredResponseProtectionSetup>());
        return builder;
    }

    /// <summary>
    /// Stores idempotency records in <typeparamref name="TStore"/>, created by the container as a singleton, in place of
    /// the in-memory store or any store added before. A store that also implements
    /// <see cref="IIdempotencySequenceStore"/> is registered as one and serves policies with sequence numbers; with a
    /// store that does not, such a policy fails the application at start-up. See docs/custom-store.md.
    /// </summary>
    /// <typeparam name="TStore">The store; thread-safe, as one instance serves every request.</typeparam>
    /// <param name="builder">The idempotency builder.</param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder AddStore<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TStore>(this IIdempotencyBuilder builder)
        where TStore : class, IIdempotencyStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        Idempotency.Hosting.IdempotencyServiceRegistration.AddStore<TStore>(builder.Services);
        return builder;
    }

    /// <summary>
    /// Stores idempotency records in the <typeparamref name="TStore"/> singleton that <paramref name="factory"/>
    /// creates, in place of the in-memory store or any store added before; otherwise as <see cref="AddStore{TStore}(IIdempotencyBuilder)"/>.
    /// </summary>
    /// <typeparam name="TStore">The store; thread-safe, as one instance serves every request.</typeparam>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="factory">Creates the store, once, from the application's services.</param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder AddStore<TStore>(this IIdempotencyBuilder builder, Func<IServiceProvider, TStore> factory)
        where TStore : class, IIdempotencyStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        Idempotency.Hosting.IdempotencyServiceRegistration.AddStore(builder.Services, factory);
        return builder;
    }
}
