using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Idempotency.Diagnostics;
using Idempotency.Execution;
using Idempotency.Hooks;
using Idempotency.LocalReplay;
using Idempotency.Middleware;
using Idempotency.Policies;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Idempotency.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
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
        services.TryAddSingleton<IdempotencyHooks>();
        services.TryAddSingleton<IIdempotencyStore, InMemoryIdempotencyStore>();

        services.TryAddSingleton(SequenceCapability);
        services.AddOptions<StoreRequirements>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StoreRequirements>, StoreRequirementsValidator>());
        services.AddMetrics();
        services.TryAddSingleton(static sp => new IdempotencyTelemetry(
            sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<IIdempotencyStore>().GetType().Name));
        services.TryAddSingleton<LocalReplayCache>();
        services.TryAddSingleton<StoreCalls>();
        services.TryAddSingleton<IdempotencyEngine>();
        services.TryAddSingleton<IIdempotentExecutor, IdempotentExecutor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, InMemoryStoreEnvironmentGuard>());
    }

    /// <summary>
    /// Makes <typeparamref name="TStore"/> the one store, in place of the in-memory default or any store registered
    /// before: the one registration path of every store, so that calling it twice still leaves exactly one.
    /// </summary>
    public static void AddStore<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TStore>(IServiceCollection services)
        where TStore : class, IIdempotencyStore
    {
        RemoveStores<TStore>(services);
        services.AddSingleton<TStore>();
        AddStoreCapabilities<TStore>(services);
    }

    /// <summary>As <see cref="AddStore{TStore}(IServiceCollection)"/>, with the store made by <paramref name="factory"/>.</summary>
    public static void AddStore<TStore>(IServiceCollection services, Func<IServiceProvider, TStore> factory)
        where TStore : class, IIdempotencyStore
    {
        RemoveStores<TStore>(services);
        services.AddSingleton(factory);
        AddStoreCapabilities<TStore>(services);
    }

    private static void RemoveStores<TStore>(IServiceCollection services)
        where TStore : class, IIdempotencyStore
    {
        services.RemoveAll<TStore>();
        services.RemoveAll<IIdempotencyStore>();
        services.RemoveAll<IIdempotencySequenceStore>();
    }

    private static void AddStoreCapabilities<TStore>(IServiceCollection services)
        where TStore : class, IIdempotencyStore
    {
        services.AddSingleton<IIdempotencyStore>(static sp => sp.GetRequiredService<TStore>());
        services.AddSingleton(SequenceCapability);
    }

    // IIdempotencySequenceStore is always the registered IIdempotencyStore itself, or null (GetService) for a key-only
    // store: never a second registration that could drift from it, as when an application replaces IIdempotencyStore
    // after adding a store, so the middleware and the start-up check always see the store that serves keys.
    private static IIdempotencySequenceStore SequenceCapability(IServiceProvider services)
        => (services.GetRequiredService<IIdempotencyStore>() as IIdempotencySequenceStore)!;
}
