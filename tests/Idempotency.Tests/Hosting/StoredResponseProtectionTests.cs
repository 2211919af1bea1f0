using System.Buffers;
using System.Net;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace Idempotency.Tests.Hosting;

/// <summary>
/// <c>ProtectStoredResponses()</c>: off by default, validated at start-up, a protector from the application's Data
/// Protection; and what the middleware answers when a stored response cannot be unprotected.
/// </summary>
public sealed class StoredResponseProtectionTests : IDisposable
{
    private readonly TestKeyRing _ring = new();

    public void Dispose() => _ring.Dispose();

    private static WebApplication Build(Action<IServiceCollection> services)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        services(builder.Services);
        var app = builder.Build();
        app.UseIdempotency();
        return app;
    }

    [Fact]
    public async Task Stored_responses_are_not_protected_by_default()
    {
        await using var app = Build(static services => services.AddIdempotency());
        await app.StartAsync();

        var options = app.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;
        Assert.False(options.ProtectStoredResponses);
        Assert.Null(options.StoredResponseProtector);
    }

    [Fact]
    public async Task Protecting_without_Data_Protection_registered_fails_at_start_up_naming_the_fix()
    {
        await using var app = Build(static services => services.AddIdempotency().ProtectStoredResponses());

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        var failure = Assert.Single(ex.Failures);
        Assert.Contains("ProtectStoredResponses()", failure, StringComparison.Ordinal);
        Assert.Contains("AddDataProtection()", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Setting_ProtectStoredResponses_without_a_protector_fails_at_start_up()
    {
        await using var app = Build(static services => services.AddIdempotency(static o => o.ProtectStoredResponses = true));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(ex.Failures, f => f.Contains("StoredResponseProtector is null", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProtectStoredResponses_takes_a_protector_for_its_purpose_from_the_applications_Data_Protection()
    {
        await using var app = Build(services => _ring.Register(services).AddIdempotency().ProtectStoredResponses());
        await app.StartAsync();

        var options = app.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;
        Assert.True(options.ProtectStoredResponses);
        var protector = Assert.IsAssignableFrom<IDataProtector>(options.StoredResponseProtector);

        // Another instance on the same key ring, with the default purpose, reads what this one protected.
        Assert.Equal([1, 2, 3], _ring.Protector.Unprotect(protector.Protect([1, 2, 3])));
    }

    [Fact]
    public async Task A_purpose_of_the_applications_own_keeps_its_responses_apart()
    {
        await using var app = Build(services => _ring.Register(services).AddIdempotency().ProtectStoredResponses(purpose: "payments.v2"));
        await app.StartAsync();

        var protector = app.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value.StoredResponseProtector!;
        Assert.Equal([1, 2, 3], _ring.Provider.CreateProtector("payments.v2").Unprotect(protector.Protect([1, 2, 3])));
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => _ring.Protector.Unprotect(protector.Protect([1, 2, 3])));
    }

    [Fact]
    public async Task Switching_protection_off_keeps_the_protector_to_read_older_responses()
    {
        await using var app = Build(services => _ring.Register(services).AddIdempotency().ProtectStoredResponses(protectNewResponses: false));
        await app.StartAsync();

        var options = app.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;
        Assert.False(options.ProtectStoredResponses);
        Assert.NotNull(options.StoredResponseProtector);
    }

    [Fact]
    public async Task A_protector_the_application_set_itself_is_kept()
    {
        var own = _ring.Provider.CreateProtector("own");
        await using var app = Build(services => _ring.Register(services).AddIdempotency(o => o.StoredResponseProtector = own).ProtectStoredResponses());
        await app.StartAsync();

        Assert.Same(own, app.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value.StoredResponseProtector);
    }

    [Fact]
    public async Task The_in_memory_store_replays_and_checks_fingerprints_with_protection_on()
    {
        // The in-memory store keeps responses as objects inside the process and never serializes them, so it never
        // protects them either; switching protection on changes nothing about what a retry gets.
        await using var app = await TestApp.StartAsync(services: services => _ring.Register(services).AddIdempotency().ProtectStoredResponses());

        var first = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));
        var replay = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));
        var reused = await app.Client.SendAsync(TestApp.Post("/items", "key-1", body: "{\"amount\":999}"));

        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task A_stored_response_that_cannot_be_unprotected_answers_500_without_running_the_handler_and_says_why()
    {
        await using var app = await TestApp.StartAsync(services: static services => services.AddFakeLogging());
        using var other = new TestKeyRing();
        var foreign = StoredResponseSerializer.Serialize(new StoredResponse(201, [], "{}"u8.ToArray()), other.Protector);
        app.Store.BeginOverride = () => ValueTask.FromResult(
            IdempotencyBeginResult.Completed(StoredResponseSerializer.Deserialize(new ReadOnlySequence<byte>(foreign), _ring.Protector)));

        var response = await app.Client.SendAsync(TestApp.Post("/fail-open", "key-1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, "idempotency-record-unreadable");
        Assert.Equal(0, app.Handlers.Executions("fail-open"));
        var log = Assert.Single(app.Services.GetRequiredService<FakeLogCollector>().GetSnapshot(), r => r.Id.Name == "StoredResponseUnprotectFailed");
        Assert.Equal(LogLevel.Error, log.Level);
        Assert.Contains("key ring", log.Message, StringComparison.Ordinal);
    }
}
