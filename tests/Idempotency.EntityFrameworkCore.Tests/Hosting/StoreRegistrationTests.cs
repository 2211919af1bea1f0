using Idempotency.EntityFrameworkCore.Relational;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Idempotency.EntityFrameworkCore.Tests.Hosting;

/// <summary>AddEntityFrameworkCoreStore: what it registers, and what fails the application's start with a message naming the fix.</summary>
public sealed class StoreRegistrationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("idempotency-ef-host-").FullName;

    private string SqliteConnectionString => $"Data Source={Path.Combine(_directory, "host.db")}";

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static IHost Build<TContext>(Action<DbContextOptionsBuilder> provider, Action<EntityFrameworkCoreIdempotencyStoreOptions>? configure = null)
        where TContext : DbContext
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Development });
        builder.Services.AddDbContext<TContext>(provider);
        builder.Services.AddIdempotency().AddEntityFrameworkCoreStore<TContext>(configure);
        return builder.Build();
    }

    [Fact]
    public void The_store_serves_keys_sequences_and_transactions()
    {
        using var host = Build<TestDbContext>(o => o.UseSqlite(SqliteConnectionString));
        var store = host.Services.GetRequiredService<IIdempotencyStore>();
        Assert.IsType<EntityFrameworkCoreIdempotencyStore>(store);
        Assert.Same(store, host.Services.GetRequiredService<IIdempotencySequenceStore>());
        Assert.IsAssignableFrom<IIdempotencyTransactionalStore>(store);
    }

    [Fact]
    public async Task The_application_starts_on_a_verified_provider_with_the_tables_mapped()
    {
        using var host = Build<TestDbContext>(o => o.UseSqlite(SqliteConnectionString));
        await host.StartAsync();
        await host.StopAsync();
    }

    [Fact]
    public async Task An_unverified_provider_fails_the_start_naming_the_verified_ones()
    {
        using var host = Build<TestDbContext>(o => o.UseInMemoryDatabase("unverified"));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("Microsoft.EntityFrameworkCore.InMemory", ex.Message, StringComparison.Ordinal);
        Assert.Contains(SqlDialect.PostgreSqlProviderName, ex.Message, StringComparison.Ordinal);
        Assert.Contains(SqlDialect.SqliteProviderName, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_without_the_tables_fails_the_start_naming_MapIdempotencyTables()
    {
        using var host = Build<UnmappedDbContext>(o => o.UseSqlite(SqliteConnectionString));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("MapIdempotencyTables()", ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(UnmappedDbContext), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_options_fail_the_start_naming_each_option()
    {
        using var host = Build<TestDbContext>(o => o.UseSqlite(SqliteConnectionString), options =>
        {
            options.PurgeInterval = TimeSpan.Zero;
            options.PurgeBatchSize = 0;
        });
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(ex.Failures, f => f.Contains("EntityFrameworkCoreIdempotencyStoreOptions.PurgeInterval", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("EntityFrameworkCoreIdempotencyStoreOptions.PurgeBatchSize", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100_000)]
    public void Batch_sizes_within_bounds_are_valid(int batchSize)
        => Assert.True(new EntityFrameworkCoreIdempotencyStoreOptionsValidator()
            .Validate(null, new EntityFrameworkCoreIdempotencyStoreOptions { PurgeBatchSize = batchSize }).Succeeded);

    [Fact]
    public void A_batch_size_above_the_bound_is_invalid()
        => Assert.True(new EntityFrameworkCoreIdempotencyStoreOptionsValidator()
            .Validate(null, new EntityFrameworkCoreIdempotencyStoreOptions { PurgeBatchSize = 100_001 }).Failed);

    [Theory]
    [InlineData(ServiceLifetime.Transient, "another instance")]
    [InlineData(ServiceLifetime.Singleton, "share one context")]
    public async Task A_transaction_is_refused_when_the_context_is_not_scoped_naming_the_lifetime(ServiceLifetime lifetime, string why)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Development });
        builder.Services.AddDbContext<TestDbContext>(o => o.UseSqlite(SqliteConnectionString), lifetime, ServiceLifetime.Singleton);
        builder.Services.AddIdempotency().AddEntityFrameworkCoreStore<TestDbContext>();
        using var host = builder.Build();
        var store = (IIdempotencyTransactionalStore)host.Services.GetRequiredService<IIdempotencyStore>();
        await using var request = host.Services.CreateAsyncScope();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(
            async () => await store.BeginTransactionAsync(request.ServiceProvider, TimeSpan.Zero, CancellationToken.None));

        Assert.Contains($"{nameof(TestDbContext)} is registered as {lifetime}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
    }
}
