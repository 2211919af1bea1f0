using Idempotency.Diagnostics;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Hosting;

/// <summary>
/// At start-up, says (or refuses, as <see cref="InMemoryIdempotencyStoreOptions.EnvironmentCheck"/> asks) when the
/// in-memory store serves outside Development: the usual way a deployment of several instances ends up with records
/// none of the others can see is forgetting to register the shared store.
/// </summary>
internal sealed class InMemoryStoreEnvironmentGuard(IServiceProvider services, IOptions<InMemoryIdempotencyStoreOptions> options, ILogger<InMemoryStoreEnvironmentGuard> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var check = options.Value.EnvironmentCheck;
        if (check == InMemoryStoreEnvironmentCheck.Off
            || services.GetService<IHostEnvironment>() is not { } environment
            || environment.IsDevelopment()
            || services.GetService<IIdempotencyStore>() is not InMemoryIdempotencyStore)
        {
            return Task.CompletedTask;
        }

        if (check == InMemoryStoreEnvironmentCheck.Refuse)
        {
            throw new InvalidOperationException(
                $"The idempotency middleware refuses to start on the in-memory store in the '{environment.EnvironmentName}' environment: its records live in " +
                "this process only, so another instance cannot see them (a retry that reaches it runs its operation again) and a restart forgets them. " +
                $"Register a shared store (AddRedisStore or AddStore), or set {nameof(InMemoryIdempotencyStoreOptions)}.{nameof(InMemoryIdempotencyStoreOptions.EnvironmentCheck)} " +
                $"to {nameof(InMemoryStoreEnvironmentCheck.Warn)} or {nameof(InMemoryStoreEnvironmentCheck.Off)}.");
        }

        IdempotencyLog.InMemoryStoreOutsideDevelopment(logger, environment.EnvironmentName);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
