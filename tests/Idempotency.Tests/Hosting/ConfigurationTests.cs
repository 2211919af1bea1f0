using Idempotency.Hosting;
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

    public static TheoryData<string, Action<IdempotencyOptions>> InvalidSettings => new()
    {
        { "KeyHeaderName", o => o.KeyHeaderName = "" },
        { "ReplayedHeaderName", o => o.ReplayedHeaderName = "Replayed:" },
        { "SequenceNumberHeaderName", o => o.SequenceNumberHeaderName = "Sequence Number" },
        { "SequenceStreamHeaderName", o => o.SequenceStreamHeaderName = "Strëam" },
        { "SequenceEpochHeaderName", o => o.SequenceEpochHeaderName = null! },
        { "MaxKeyLength", o => o.MaxKeyLength = 0 },
        { "MaxKeyLength", o => o.MaxKeyLength = 4097 },
        { "ProblemTypeBaseUri", o => o.ProblemTypeBaseUri = " " },
        { "InFlightRetryAfter", o => o.InFlightRetryAfter = TimeSpan.Zero },
        { "StoreUnavailableRetryAfter", o => o.StoreUnavailableRetryAfter = TimeSpan.FromSeconds(-1) },
        { "StoreTimeout", o => o.StoreTimeout = TimeSpan.Zero },
        { "ScopeResolver", o => o.ScopeResolver = null! },
        { "RequestBodyBufferThreshold", o => o.RequestBodyBufferThreshold = 0 },
        { "RequestBodyBufferThreshold", o => o.RequestBodyBufferThreshold = 64 * 1024 * 1024 + 1 },
        { "StoredResponseCompressionThreshold", o => o.StoredResponseCompressionThreshold = -1 },
        { "StoredResponseCompressionThreshold", o => o.StoredResponseCompressionThreshold = 64 * 1024 * 1024 + 1 },
        { "StoredResponseCompressionLevel", o => o.StoredResponseCompressionLevel = (System.IO.Compression.CompressionLevel)42 },
        { "DefaultPolicy: KeyRequirement", o => o.DefaultPolicy.KeyRequirement = (KeyRequirement)42 },
        { "DefaultPolicy: ConcurrentRequests", o => o.DefaultPolicy.ConcurrentRequests = (ConcurrentRequestHandling)42 },
        { "DefaultPolicy: Lease", o => o.DefaultPolicy.Lease = TimeSpan.FromMilliseconds(99) },
        { "DefaultPolicy: Retention", o => o.DefaultPolicy.Retention = TimeSpan.Zero },
        { "DefaultPolicy: Retention", o => o.DefaultPolicy.Retention = o.DefaultPolicy.Lease - TimeSpan.FromSeconds(1) },
        { "DefaultPolicy: MaxSnapshotBytes", o => o.DefaultPolicy.MaxSnapshotBytes = -1 },
        { "DefaultPolicy: ConcurrentWaitTimeout", o => o.DefaultPolicy.ConcurrentWaitTimeout = TimeSpan.Zero },
        { "DefaultPolicy: MaxCanonicalJsonBytes", o => o.DefaultPolicy.MaxCanonicalJsonBytes = 0 },
        { "Policy 'p': MaxCanonicalJsonBytes", o => o.AddPolicy("p", p => p.MaxCanonicalJsonBytes = 16 * 1024 * 1024 + 1) },
        { "Policy 'p': SequenceRequirement", o => o.AddPolicy("p", p => p.SequenceRequirement = (SequenceRequirement)42) },
        { "Policy 'p': SequenceWindow", o => o.AddPolicy("p", p => p.SequenceWindow = 0) },
        { "Policy 'p': SequenceWindow", o => o.AddPolicy("p", p => p.SequenceWindow = 1025) },
        { "Policy 'p': ReorderWait", o => o.AddPolicy("p", p => p.ReorderWait = TimeSpan.FromMinutes(2)) },
        { "Policy 'p': StreamRetention", o => o.AddPolicy("p", p => p.StreamRetention = TimeSpan.FromSeconds(1)) },
        { "Policy 'p': FingerprintComponents", o => o.AddPolicy("p", p => p.FingerprintComponents = (FingerprintComponents)1024) },
        { "Policy 'p': KeyHeaderName", o => o.AddPolicy("p", p => p.KeyHeaderName = "Request Key") },
        { "DefaultPolicy: FingerprintExcludedJsonMembers", o => o.DefaultPolicy.FingerprintExcludedJsonMembers.Add("/sentAt") },
        // Timers overflow past ~49.7 days (a lease is renewed every third of itself): bounded well before that.
        { "DefaultPolicy: Lease", o => { o.DefaultPolicy.Lease = TimeSpan.FromDays(150); o.DefaultPolicy.Retention = o.DefaultPolicy.StreamRetention = TimeSpan.FromDays(300); } },
        { "DefaultPolicy: Lease", o => { o.DefaultPolicy.Lease = TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1); o.DefaultPolicy.Retention = TimeSpan.FromDays(2); } },
        { "StoreTimeout", o => o.StoreTimeout = TimeSpan.FromDays(50) },
        { "InFlightRetryAfter", o => o.InFlightRetryAfter = TimeSpan.MaxValue },
        { "StoreUnavailableRetryAfter", o => o.StoreUnavailableRetryAfter = TimeSpan.FromDays(2) },
        { "DefaultPolicy: ConcurrentWaitTimeout", o => o.DefaultPolicy.ConcurrentWaitTimeout = TimeSpan.FromDays(50) },
        { "DefaultPolicy: Retention", o => o.DefaultPolicy.Retention = TimeSpan.MaxValue },
        { "Policy 'p': StreamRetention", o => o.AddPolicy("p", p => p.StreamRetention = TimeSpan.MaxValue) },
        { "DefaultPolicy: MaxSnapshotBytes", o => o.DefaultPolicy.MaxSnapshotBytes = int.MaxValue },
        { "Policy 'p': SequenceWindow × MaxSnapshotBytes", o => o.AddPolicy("p", p => { p.SequenceRequirement = SequenceRequirement.Required; p.SequenceWindow = 1024; }) },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void Each_invalid_setting_is_reported_alone_and_by_name(string named, Action<IdempotencyOptions> configure)
    {
        var options = new IdempotencyOptions();
        Assert.True(new IdempotencyOptionsValidator().Validate(null, options).Succeeded, "The defaults must be valid.");

        configure(options);
        var result = new IdempotencyOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith(named, failure, StringComparison.Ordinal);
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
