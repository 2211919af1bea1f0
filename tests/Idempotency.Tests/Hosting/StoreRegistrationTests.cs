using System.Diagnostics.Metrics;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Tests.Hosting;

public sealed class StoreRegistrationTests
{
    private static WebApplication Build(Action<IIdempotencyBuilder> store, Action<IdempotencyOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        store(builder.Services.AddIdempotency(options => configure?.Invoke(options)));
        var app = builder.Build();
        app.UseIdempotency();
        app.MapPost("/items", () => Results.Ok("created")).RequireIdempotency();
        return app;
    }

    [Theory]
    [InlineData(SequenceRequirement.Required)]
    [InlineData(SequenceRequirement.Optional)]
    public async Task A_named_policy_needing_sequences_fails_start_up_on_a_key_only_store_naming_policy_store_and_remedy(SequenceRequirement requirement)
    {
        await using var app = Build(
            idempotency => idempotency.AddStore<KeyOnlyStore>(),
            options => options.AddPolicy("ledger", p => p.SequenceRequirement = requirement));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        var failure = Assert.Single(ex.Failures);
        Assert.StartsWith("Policy 'ledger': SequenceRequirement", failure, StringComparison.Ordinal);
        Assert.Contains(nameof(KeyOnlyStore), failure, StringComparison.Ordinal);
        Assert.Contains(nameof(IIdempotencySequenceStore), failure, StringComparison.Ordinal);
        Assert.Contains("set SequenceRequirement to Off", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_default_policy_needing_sequences_fails_start_up_on_a_key_only_store()
    {
        await using var app = Build(
            idempotency => idempotency.AddStore<KeyOnlyStore>(),
            options => options.DefaultPolicy.SequenceRequirement = SequenceRequirement.Optional);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.StartsWith("DefaultPolicy: SequenceRequirement", Assert.Single(ex.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_only_store_serves_key_policies()
    {
        await using var app = Build(idempotency => idempotency.AddStore<KeyOnlyStore>());
        await app.StartAsync();
        var client = app.GetTestClient();

        var first = await client.SendAsync(TestApp.Post("/items", "k"));
        var retry = await client.SendAsync(TestApp.Post("/items", "k"));

        Assert.Equal(System.Net.HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
    }

    [Fact]
    public async Task Invalid_options_fail_start_up_once_not_again_as_a_store_requirement()
    {
        await using var app = Build(
            idempotency => idempotency.AddStore<KeyOnlyStore>(),
            options =>
            {
                options.DefaultPolicy.Lease = TimeSpan.Zero;
                options.DefaultPolicy.SequenceRequirement = SequenceRequirement.Required;
            });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.DoesNotContain(ex.Failures, f => f.Contains(nameof(IIdempotencySequenceStore), StringComparison.Ordinal));
    }

    [Fact]
    public void The_in_memory_default_offers_sequences_through_the_same_instance()
    {
        var services = new ServiceCollection();
        services.AddIdempotency();
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<InMemoryIdempotencyStore>(provider.GetRequiredService<IIdempotencyStore>());
        Assert.Same(store, provider.GetService<IIdempotencySequenceStore>());
    }

    [Fact]
    public void AddStore_replaces_the_store_and_registers_the_sequence_capability_only_when_offered()
    {
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        var idempotency = services.AddIdempotency();

        idempotency.AddStore<FaultyStore>(sp => new FaultyStore(ActivatorUtilities.CreateInstance<InMemoryIdempotencyStore>(sp)));
        using (var provider = services.BuildServiceProvider())
        {
            var store = Assert.IsType<FaultyStore>(provider.GetRequiredService<IIdempotencyStore>());
            Assert.Same(store, provider.GetService<IIdempotencySequenceStore>());
            Assert.Same(store, provider.GetRequiredService<FaultyStore>());
        }

        idempotency.AddStore<KeyOnlyStore>();
        using (var provider = services.BuildServiceProvider())
        {
            var store = Assert.IsType<KeyOnlyStore>(provider.GetRequiredService<IIdempotencyStore>());
            Assert.Same(store, provider.GetRequiredService<KeyOnlyStore>());
            Assert.Null(provider.GetService<IIdempotencySequenceStore>());
        }

        Assert.Single(services, d => d.ServiceType == typeof(IIdempotencyStore));
    }

    [Fact]
    public void The_sequence_capability_follows_a_store_replaced_after_AddStore()
    {
        var services = new ServiceCollection();
        services.AddIdempotency().AddStore(sp => new FaultyStore(ActivatorUtilities.CreateInstance<InMemoryIdempotencyStore>(sp)));
        var keyOnly = new KeyOnlyStore(TimeProvider.System);

        services.Replace(ServiceDescriptor.Singleton<IIdempotencyStore>(keyOnly));
        using var provider = services.BuildServiceProvider();

        Assert.Same(keyOnly, provider.GetRequiredService<IIdempotencyStore>());
        Assert.Null(provider.GetService<IIdempotencySequenceStore>());
    }

    [Fact]
    public void AddStore_calls_its_factory_once()
    {
        var services = new ServiceCollection();
        var calls = 0;
        services.AddIdempotency().AddStore(_ =>
        {
            calls++;
            return new KeyOnlyStore(TimeProvider.System);
        });
        using var provider = services.BuildServiceProvider();

        Assert.Same(provider.GetRequiredService<IIdempotencyStore>(), provider.GetRequiredService<IIdempotencyStore>());
        Assert.Same(provider.GetRequiredService<IIdempotencyStore>(), provider.GetRequiredService<KeyOnlyStore>());
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Store_telemetry_names_the_store_added()
    {
        await using var app = Build(idempotency => idempotency.AddStore<KeyOnlyStore>());
        await app.StartAsync();
        using var durations = new MetricCollector<double>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.store.operation.duration");

        await app.GetTestClient().SendAsync(TestApp.Post("/items", "k"));

        Assert.NotEmpty(durations.GetMeasurementSnapshot());
        Assert.All(durations.GetMeasurementSnapshot(), m => Assert.Equal(nameof(KeyOnlyStore), m.Tags["idempotency.store"]));
    }
}
