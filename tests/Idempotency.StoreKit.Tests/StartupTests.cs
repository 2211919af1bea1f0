using System.Net;
using Idempotency.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.StoreKit.Tests;

/// <summary>The third-party store registered as an application registers it, with <c>AddStore</c>.</summary>
public sealed class StartupTests
{
    private static WebApplication Build(Action<IdempotencyOptions> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency(configure).AddStore(_ => new DictionaryStore(TimeProvider.System));
        var app = builder.Build();
        app.UseIdempotency();
        var runs = 0;
        app.MapPost("/payments", () => Results.Ok(Interlocked.Increment(ref runs))).RequireIdempotency();
        return app;
    }

    [Fact]
    public async Task A_policy_needing_sequences_fails_start_up_with_a_message_naming_policy_store_and_remedy()
    {
        await using var app = Build(options => options.AddPolicy("ledger", p => p.SequenceRequirement = SequenceRequirement.Required));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        var failure = Assert.Single(ex.Failures);
        Assert.Contains("Policy 'ledger'", failure, StringComparison.Ordinal);
        Assert.Contains(nameof(DictionaryStore), failure, StringComparison.Ordinal);
        Assert.Contains(nameof(IIdempotencySequenceStore), failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_policies_run_once_and_replay_on_the_store()
    {
        await using var app = Build(_ => { });
        await app.StartAsync();
        var client = app.GetTestClient();

        HttpRequestMessage Post()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/payments") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", "payment-1");
            return request;
        }

        var first = await client.SendAsync(Post());
        var retry = await client.SendAsync(Post());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("1", await first.Content.ReadAsStringAsync());
        Assert.Equal("1", await retry.Content.ReadAsStringAsync());
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
    }
}
