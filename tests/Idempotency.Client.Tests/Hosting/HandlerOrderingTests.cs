using System.Net;
using Idempotency.Client.Internal;
using Idempotency.Client.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;

namespace Idempotency.Client.Tests.Hosting;

/// <summary>
/// The ordering rule: the key handler sits outside (before) any resilience handler, whatever order the registrations
/// are written in, so that every attempt the resilience handler makes carries the same key.
/// </summary>
public sealed class HandlerOrderingTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_key_handler_sits_outside_the_resilience_handler_in_either_registration_order(bool keysFirst)
    {
        var services = new ServiceCollection();
        var builder = services.AddHttpClient(TestClient.Name);
        if (keysFirst)
        {
            builder.AddIdempotencyKeys().AddStandardResilienceHandler();
        }
        else
        {
            builder.AddStandardResilienceHandler();
            builder.AddIdempotencyKeys();
        }

        builder.AddHttpMessageHandler(() => new PassThroughHandler());
        using var provider = services.BuildServiceProvider();

        var chain = Chain(provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(TestClient.Name));

        var keys = chain.FindIndex(h => h is IdempotencyKeyHandler);
        var resilience = chain.FindIndex(h => h is ResilienceHandler);
        var inner = chain.FindIndex(h => h is PassThroughHandler);
        Assert.True(keys >= 0 && resilience > keys && inner > resilience, string.Join(" -> ", chain.Select(h => h.GetType().Name)));
    }

    [Fact]
    public void Adding_the_keys_twice_adds_one_handler_and_applies_both_configurations()
    {
        var services = new ServiceCollection();
        services.AddHttpClient(TestClient.Name)
            .AddIdempotencyKeys(o => o.MaxAttempts = 2)
            .AddIdempotencyKeys(o => o.RetrySequenceGap = true);
        using var provider = services.BuildServiceProvider();

        var chain = Chain(provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(TestClient.Name));

        Assert.Single(chain, h => h is IdempotencyKeyHandler);
        var options = provider.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<IdempotencyClientOptions>>().Get(TestClient.Name);
        Assert.Equal(2, options.MaxAttempts);
        Assert.True(options.RetrySequenceGap);
    }

    [Fact]
    public async Task Standard_retries_re_send_the_same_message_with_the_same_key()
    {
        var server = new RecordingHandler().Respond(
            Responses.Status(HttpStatusCode.InternalServerError),
            Responses.Status(HttpStatusCode.ServiceUnavailable));
        using var client = new TestClient(server: server, more: b => b.AddStandardResilienceHandler(o => o.Retry.Delay = TimeSpan.Zero));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sent = server.Requests.ToArray();
        Assert.Equal(3, sent.Length);
        Assert.Single(sent.Select(r => r.Key).Distinct());
        Assert.NotNull(sent[0].Key);
        Assert.All(sent, r => Assert.Same(sent[0].Message, r.Message));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Hedged_attempts_are_clones_that_carry_the_same_key(bool keysFirst)
    {
        // Hedging snapshots the message when it enters the resilience handler and sends a clone per attempt, so a key
        // set inside the resilience handler would differ per attempt. Registered in either order, the key is set first.
        var server = new RecordingHandler().Respond(Responses.Status(HttpStatusCode.InternalServerError));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new SignalingTimeProvider());
        var builder = services.AddHttpClient(TestClient.Name, c => c.BaseAddress = new Uri("http://payments.test"))
            .ConfigurePrimaryHttpMessageHandler(() => server);
        if (keysFirst)
        {
            builder.AddIdempotencyKeys().AddStandardHedgingHandler();
        }
        else
        {
            builder.AddStandardHedgingHandler();
            builder.AddIdempotencyKeys();
        }

        using var provider = services.BuildServiceProvider();
        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient(TestClient.Name);

        using var response = await client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sent = server.Requests.ToArray();
        Assert.Equal(2, sent.Length);
        Assert.NotSame(sent[0].Message, sent[1].Message);
        Assert.NotNull(sent[0].Key);
        Assert.Equal(sent[0].Key, sent[1].Key);
    }

    [Fact]
    public async Task Client_defaults_give_every_client_the_handler_and_its_own_sequence_streams()
    {
        var server = new RecordingHandler();
        var services = new ServiceCollection();
        services.ConfigureHttpClientDefaults(b => b
            .AddIdempotencyKeys(o => o.AssignSequenceNumbers = true)
            .ConfigurePrimaryHttpMessageHandler(() => server));
        services.AddHttpClient("a", c => c.BaseAddress = new Uri("http://a.test"));
        services.AddHttpClient("b", c => c.BaseAddress = new Uri("http://b.test"));
        using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpClientFactory>();
        using var a = factory.CreateClient("a");
        using var b = factory.CreateClient("b");

        foreach (var client in new[] { a, b, a })
        {
            (await client.SendAsync(TestClient.Post())).Dispose();
        }

        Assert.Equal(
            [("a.test", "1"), ("b.test", "1"), ("a.test", "2")],
            server.Requests.Select(r => (r.Message.RequestUri!.Host, r.SequenceNumber)));
        Assert.Equal(3, server.Requests.Select(r => r.Key).Distinct().Count());
    }

    private static List<HttpMessageHandler> Chain(HttpMessageHandler handler)
    {
        var chain = new List<HttpMessageHandler>();
        for (HttpMessageHandler? current = handler; current is not null; current = (current as DelegatingHandler)?.InnerHandler)
        {
            chain.Add(current);
        }

        return chain;
    }

    private sealed class PassThroughHandler : DelegatingHandler;
}
