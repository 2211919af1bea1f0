using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Infrastructure;

/// <summary>
/// A service provider as a worker (not a web application) builds it: <c>AddIdempotency()</c> on the in-memory store,
/// wrapped in a <see cref="FaultyStore"/> to count calls and inject faults.
/// </summary>
public sealed class WorkerHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private WorkerHost(ServiceProvider services, FakeTimeProvider? time)
    {
        _services = services;
        Time = time;
        Store = services.GetRequiredService<FaultyStore>();
        Executor = services.GetRequiredService<IIdempotentExecutor>();
    }

    public IIdempotentExecutor Executor { get; }

    public FaultyStore Store { get; }

    public FakeTimeProvider? Time { get; }

    public static WorkerHost Start(Action<IdempotencyOptions>? configure = null, FakeTimeProvider? time = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        if (time is not null)
        {
            services.AddSingleton<TimeProvider>(time);
        }

        services.AddIdempotency(options =>
        {
            options.AddPolicy("short-wait", p => p.ConcurrentWaitTimeout = TimeSpan.FromMilliseconds(200));
            options.AddPolicy("short-lease", p => p.Lease = TimeSpan.FromSeconds(3));
            options.AddPolicy("small", p => p.MaxSnapshotBytes = 64);
            options.AddPolicy("fail-open", p => p.FailOpen = true);
            configure?.Invoke(options);
        });
        services.AddSingleton(sp => new FaultyStore(ActivatorUtilities.CreateInstance<InMemoryIdempotencyStore>(sp)));
        services.AddSingleton<IIdempotencyStore>(sp => sp.GetRequiredService<FaultyStore>());
        return new WorkerHost(services.BuildServiceProvider(validateScopes: true), time);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
