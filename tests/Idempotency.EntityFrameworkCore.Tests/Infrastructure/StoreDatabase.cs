using Idempotency.EntityFrameworkCore.Relational;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>One database with the store's tables, shared by the tests of one provider (they use keys of their own).</summary>
public abstract class StoreDatabase : IAsyncLifetime
{
    /// <summary>
    /// The conformance suites' short lease on the database's real clock: a second leaves room for pauses on a busy
    /// two-core machine (as the Redis tests found) and keeps every wait short.
    /// </summary>
    public static readonly TimeSpan RealTimeShortLease = TimeSpan.FromSeconds(1);

    public abstract string ProviderName { get; }

    public abstract void Configure(DbContextOptionsBuilder options);

    /// <summary>
    /// Services as an application has them: the context registered with AddDbContext, scoped, and what the store
    /// registers in each request's scope.
    /// </summary>
    public ServiceProvider CreateServices(Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddDbContext<TestDbContext>(Configure);
        services.AddScoped<RequestTransactionHolder>();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>A store built the way the registration builds it, on services of its own.</summary>
    internal EntityFrameworkCoreIdempotencyStore CreateStore(IServiceProvider? services = null)
        => new(new StoreContextSource<TestDbContext>(services ?? SharedServices), NullLogger<EntityFrameworkCoreIdempotencyStore>.Instance);

    public TestDbContext CreateContext()
    {
        var options = new DbContextOptionsBuilder<TestDbContext>();
        Configure(options);
        return new TestDbContext(options.Options);
    }

    /// <summary>Empties the store's tables (the fencing counter stays: tokens never go back).</summary>
    public async Task ClearAsync()
    {
        await using var context = CreateContext();
        await context.Database.ExecuteSqlRawAsync("DELETE FROM idempotency_records; DELETE FROM idempotency_stream_responses; DELETE FROM idempotency_streams; DELETE FROM ledger");
    }

    private ServiceProvider? _services;

    private ServiceProvider SharedServices => _services ??= CreateServices();

    public async Task InitializeAsync()
    {
        await CreateDatabaseAsync();
        await using var context = CreateContext();
        await context.Database.EnsureCreatedAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }

    protected abstract Task CreateDatabaseAsync();
}
