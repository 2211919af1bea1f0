using System.Diagnostics.Metrics;
using Idempotency.Diagnostics;
using Idempotency.Execution;
using Idempotency.Hooks;
using Idempotency.Middleware;
using Idempotency.Policies;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Idempotency.Workers;
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
        services.TryAddSingleton<IdempotencyHooks>();
        services.TryAddSingleton<IIdempotencyStore, InMemoryIdempotencyStore>();
        services.AddMetrics();
        services.TryAddSingleton(static sp => new IdempotencyTelemetry(
            sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<IIdempotencyStore>().GetType().Name));
        services.TryAddSingleton<StoreCalls>();
        services.TryAddSingleton<IdempotencyEngine>();
        services.TryAddSingleton<IIdempotentExecutor, IdempotentExecutor>();
    }
}
