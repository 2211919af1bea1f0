using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Tests.Hosting;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task Invalid_options_fail_at_start_with_messages_naming_the_option()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency(o =>
        {
            o.KeyHeaderName = "bad header";
            o.DefaultPolicy.Lease = TimeSpan.Zero;
            o.AddPolicy("p", p => p.MaxSnapshotBytes = -1);
        });
        await using var app = builder.Build();
        app.UseIdempotency();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(ex.Failures, f => f.Contains("KeyHeaderName", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("DefaultPolicy: Lease", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("Policy 'p': MaxSnapshotBytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Use_without_add_fails_with_a_clear_message()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        await using var app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.UseIdempotency());

        Assert.Contains("AddIdempotency", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Adding_a_policy_twice_is_refused()
    {
        var options = new IdempotencyOptions();
        options.AddPolicy("p", _ => { });

        Assert.Throws<ArgumentException>(() => options.AddPolicy("P", _ => { }));
    }
}
