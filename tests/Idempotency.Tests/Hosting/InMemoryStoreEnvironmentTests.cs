using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.Tests.Hosting;

/// <summary>Starting outside Development on the in-memory store is said, or refused, never silent.</summary>
public sealed class InMemoryStoreEnvironmentTests
{
    private const string OutsideDevelopment = "InMemoryStoreOutsideDevelopment";

    private static WebApplication Build(string environment, Action<IIdempotencyBuilder>? store = null, InMemoryStoreEnvironmentCheck? check = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddFakeLogging();
        var idempotency = builder.Services.AddIdempotency();
        if (check is { } value)
        {
            idempotency.AddInMemoryStore(o => o.EnvironmentCheck = value);
        }

        store?.Invoke(idempotency);
        var app = builder.Build();
        app.UseIdempotency();
        return app;
    }

    private static IReadOnlyList<FakeLogRecord> Warnings(WebApplication app)
        => app.Services.GetRequiredService<FakeLogCollector>().GetSnapshot().Where(r => r.Id.Name == OutsideDevelopment).ToArray();

    [Fact]
    public async Task Production_on_the_in_memory_store_logs_one_warning_naming_the_environment_and_the_fix()
    {
        await using var app = Build("Production");

        await app.StartAsync();

        var warning = Assert.Single(Warnings(app));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("'Production'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("AddRedisStore", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuse_fails_start_up_outside_development()
    {
        await using var app = Build("Staging", check: InMemoryStoreEnvironmentCheck.Refuse);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("'Staging'", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(InMemoryIdempotencyStoreOptions.EnvironmentCheck), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Development", null)]
    [InlineData("Production", InMemoryStoreEnvironmentCheck.Off)]
    public async Task Development_or_an_explicit_off_starts_without_a_word(string environment, InMemoryStoreEnvironmentCheck? check)
    {
        await using var app = Build(environment, check: check);

        await app.StartAsync();

        Assert.Empty(Warnings(app));
    }

    [Fact]
    public async Task Another_store_is_not_checked_even_when_refusing()
    {
        await using var app = Build("Production", store: static b => b.AddStore(static _ => new KeyOnlyStore(TimeProvider.System)), check: InMemoryStoreEnvironmentCheck.Refuse);

        await app.StartAsync();

        Assert.Empty(Warnings(app));
    }
}
