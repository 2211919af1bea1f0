using Idempotency.Client.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Idempotency.Client.Tests.Hosting;

public sealed class OptionsValidationTests
{
    public static TheoryData<Action<IdempotencyClientOptions>, string> InvalidOptions => new()
    {
        { o => o.KeyHeaderName = "", "KeyHeaderName must not be empty." },
        { o => o.KeyHeaderName = "Idempotency Key", "KeyHeaderName 'Idempotency Key' is not a valid header name." },
        { o => o.SequenceNumberHeaderName = "Sequence:Number", "SequenceNumberHeaderName 'Sequence:Number' is not a valid header name." },
        { o => o.SequenceStreamHeaderName = "", "SequenceStreamHeaderName must not be empty." },
        { o => o.SequenceEpochHeaderName = "", "SequenceEpochHeaderName must not be empty." },
        { o => o.Methods.Clear(), "Methods must name at least one method" },
        { o => o.KeyFactory = null!, "KeyFactory must not be null." },
        { o => o.MaxAttempts = 0, "MaxAttempts must be at least 1; it is 0." },
        { o => o.MaxRetryAfter = TimeSpan.FromSeconds(-1), "MaxRetryAfter must be between 0 and 1 day" },
        { o => o.MaxRetryAfter = TimeSpan.FromDays(2), "MaxRetryAfter must be between 0 and 1 day" },
        { o => o.DefaultRetryAfter = TimeSpan.FromSeconds(-1), "DefaultRetryAfter must be between 0 and 1 day" },
        { o => o.ProblemTypeBaseUri = " ", "ProblemTypeBaseUri must not be empty." },
        { o => o.SequenceStream = "", "SequenceStream must be 1 to 128 visible ASCII characters." },
        { o => o.SequenceStream = "has space", "SequenceStream must be 1 to 128 visible ASCII characters." },
        { o => o.SequenceStream = new string('s', 129), "SequenceStream must be 1 to 128 visible ASCII characters." },
        { o => o.SequenceEpoch = -1, "SequenceEpoch must not be negative; it is -1." },
        { o => o.FirstSequenceNumber = 0, "FirstSequenceNumber must be at least 1; it is 0." },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Invalid_options_fail_when_the_client_is_created_with_a_message_naming_the_option(Action<IdempotencyClientOptions> configure, string message)
    {
        var services = new ServiceCollection();
        services.AddHttpClient(TestClient.Name).AddIdempotencyKeys(configure);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IHttpClientFactory>().CreateClient(TestClient.Name));

        Assert.Contains(error.Failures, f => f.StartsWith(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Defaults_are_valid()
    {
        var services = new ServiceCollection();
        services.AddHttpClient(TestClient.Name).AddIdempotencyKeys();
        using var provider = services.BuildServiceProvider();

        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient(TestClient.Name);

        var options = provider.GetRequiredService<IOptionsMonitor<IdempotencyClientOptions>>().Get(TestClient.Name);
        Assert.Equal("Idempotency-Key", options.KeyHeaderName);
        Assert.Equal(5, options.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxRetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), options.DefaultRetryAfter);
        Assert.True(options.RetryInFlight);
        Assert.True(options.RetryStoreUnavailable);
        Assert.False(options.RetrySequenceGap);
        Assert.False(options.AssignSequenceNumbers);
        Assert.Equal(1, options.FirstSequenceNumber);
        Assert.Equal([HttpMethod.Patch, HttpMethod.Post], options.Methods.OrderBy(m => m.Method, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Invalid_options_of_a_named_client_stop_the_host_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddHttpClient(TestClient.Name).AddIdempotencyKeys(o => o.MaxAttempts = 0);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(error.Failures, f => f.StartsWith("MaxAttempts must be at least 1", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_are_per_client()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("a").AddIdempotencyKeys(o => o.MaxAttempts = 2);
        services.AddHttpClient("b").AddIdempotencyKeys();
        using var provider = services.BuildServiceProvider();

        var monitor = provider.GetRequiredService<IOptionsMonitor<IdempotencyClientOptions>>();

        Assert.Equal(2, monitor.Get("a").MaxAttempts);
        Assert.Equal(5, monitor.Get("b").MaxAttempts);
    }

    [Fact]
    public void A_null_builder_is_refused()
        => Assert.Throws<ArgumentNullException>(() => IdempotencyHttpClientBuilderExtensions.AddIdempotencyKeys(null!));
}
