using System.Diagnostics.Metrics;
using Idempotency.Diagnostics;
using Idempotency.Middleware;
using Idempotency.Policies;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Idempotency.Hosting;

internal static class IdempotencyServiceRegistration
{
    public static void AddCore(IServiceCollection services)
    {
        services.AddOptions<IdempotencyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdempotencyOptions>, IdempotencyOptionsValidator>());
        services.AddOptions<InMemoryIdempotencyStoreOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InMemoryIdempotencyStoreOptions>, InMemoryIdempotencyStoreOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IdempotencyMiddlewareMarker>();
        services.TryAddSingleton<IdempotencyPolicyResolver>();
        services.TryAddSingleton<IIdempotencyStore, InMemoryIdempotencyStore>();

        // The sequence capability of whatever store is registered, or null (a key-only store): the middleware and the
        // start-up check then see the same store however it was registered. AddStore registers it explicitly.
        services.TryAddSingleton<IIdempotencySequenceStore>(static sp => (sp.GetRequiredService<IIdempotencyStore>() as IIdempotencySequenceStore)!);
        services.AddOptions<StoreRequirements>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StoreRequirements>, StoreRequirementsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(static sp => new IdempotencyTelemetry(
            sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<IIdempotencyStore>().GetType().Name));
    }

    /// <summary>
    /// Makes <typeparamref name="TStore"/> the one store, in place of the in-memory default or any store registered
    /// before: the one registration path of every store, so that calling it twice still leaves exactly one.
    /// </summary>
    public static void AddStore<TStore>(IServiceCollection services, Func<IServiceProvider, TStore>? factory)
        where TStore : class, IIdempotencyStore
    {
        services.RemoveAll<TStore>();
        services.RemoveAll<IIdempotencyStore>();
        services.RemoveAll<IIdempotencySequenceStore>();
        if (factory is null)
        {
            services.AddSingleton<TStore>();
        }
        else
        {
            services.AddSingleton(factory);
        }

        services.AddSingleton<IIdempotencyStore>(static sp => sp.GetRequiredService<TStore>());
        if (typeof(IIdempotencySequenceStore).IsAssignableFrom(typeof(TStore)))
        {
            services.AddSingleton(static sp => (IIdempotencySequenceStore)sp.GetRequiredService<TStore>());
        }
    }
}
