using System.Net;
using Idempotency.Client.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Client.Tests.Integration;

/// <summary>
/// The client against the real server middleware: IHttpClientFactory with the key handler and a resilience handler,
/// whose primary handler is a TestServer running UseIdempotency in front of an endpoint that counts executions.
/// </summary>
public sealed class RealServerTests
{
    private const string PaymentBody = """{"amount":1250,"currency":"EUR","description":"Coffee beans"}""";

    [Fact]
    public async Task A_first_attempt_that_ran_but_failed_on_the_way_back_is_replayed_not_run_again()
    {
        await using var server = await PaymentServer.StartAsync();

        // Attempt 1 reaches the server, runs the payment, and its response is recorded; then the connection "fails"
        // and the client sees an HttpRequestException instead of the 201.
        var fault = new FaultInjectingHandler(async (_, sending) =>
        {
            using var lost = await sending;
            await server.WaitForFinishedRequestAsync(201);
        });
        var services = new ServiceCollection();
        var builder = services.AddHttpClient("payments", c => c.BaseAddress = new Uri("http://localhost")).AddIdempotencyKeys();
        builder.AddStandardResilienceHandler(o => o.Retry.Delay = TimeSpan.Zero);
        builder.AddHttpMessageHandler(() => fault).ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
        await using var provider = services.BuildServiceProvider();
        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("payments");

        using var response = await client.PostAsync("/payments", new StringContent(PaymentBody, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(["true"], response.Headers.GetValues("Idempotent-Replayed"));
        Assert.Equal("/payments/pay_1", response.Headers.Location?.OriginalString);
        Assert.Equal("""{"id":"pay_1","amount":1250,"currency":"EUR"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, server.Executions);
        Assert.Equal(2, fault.Attempts);
        var keys = server.ReceivedKeys.ToArray();
        Assert.Equal(2, keys.Length);
        Assert.False(string.IsNullOrEmpty(keys[0]));
        Assert.Equal(keys[0], keys[1]);
    }

    [Fact]
    public async Task Control_a_key_made_per_attempt_runs_the_payment_twice()
    {
        // The same failure with a key minted per attempt (a handler inside the resilience handler that always sets a
        // fresh key): the retry is a new operation to the server. This is what the ordering rule prevents.
        await using var server = await PaymentServer.StartAsync();
        var fault = new FaultInjectingHandler(async (_, sending) =>
        {
            using var lost = await sending;
            await server.WaitForFinishedRequestAsync(201);
        });
        var services = new ServiceCollection();
        var builder = services.AddHttpClient("payments", c => c.BaseAddress = new Uri("http://localhost"));
        builder.AddStandardResilienceHandler(o => o.Retry.Delay = TimeSpan.Zero);
        builder.AddHttpMessageHandler(() => new KeyPerAttemptHandler())
            .AddHttpMessageHandler(() => fault)
            .ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
        await using var provider = services.BuildServiceProvider();
        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("payments");

        using var response = await client.PostAsync("/payments", new StringContent(PaymentBody, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, server.Executions);
    }

    [Fact]
    public async Task A_retry_that_finds_the_first_attempt_still_running_waits_for_Retry_After_and_gets_the_replay()
    {
        await using var server = await PaymentServer.StartAsync(holdExecutions: true);
        var time = new SignalingTimeProvider();

        // Attempt 1 starts the payment on the server and is then given up by the client (a timeout, a reset), while
        // the server is still running it.
        Task<HttpResponseMessage>? abandoned = null;
        var fault = new FaultInjectingHandler(async (_, sending) =>
        {
            abandoned = sending;
            await server.ExecutionStarted;
        });
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        var builder = services.AddHttpClient("payments", c => c.BaseAddress = new Uri("http://localhost")).AddIdempotencyKeys();
        builder.AddStandardResilienceHandler(o => o.Retry.Delay = TimeSpan.Zero);
        builder.AddHttpMessageHandler(() => fault).ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
        await using var provider = services.BuildServiceProvider();
        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("payments");

        var sending = client.PostAsync("/payments", new StringContent(PaymentBody, System.Text.Encoding.UTF8, "application/json"));

        // Attempt 2 (the resilience handler's retry) gets 409 idempotency-request-in-flight with Retry-After: 1, which
        // the resilience handler does not retry; the key handler now waits one second on the client's clock.
        await time.WaitForTimerAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(1, server.Executions);
        Assert.Equal(2, server.ReceivedKeys.Count);

        server.ReleaseExecutions();
        await server.WaitForFinishedRequestAsync(201);
        (await abandoned!).Dispose();
        time.Advance(TimeSpan.FromSeconds(1));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(["true"], response.Headers.GetValues("Idempotent-Replayed"));
        Assert.Equal(1, server.Executions);
        Assert.Equal(3, fault.Attempts);
        Assert.Single(server.ReceivedKeys.Distinct());
    }

    [Fact]
    public async Task Store_unavailable_is_retried_after_Retry_After_and_runs_once()
    {
        await using var server = await PaymentServer.StartAsync(storeUnavailableOnce: true);
        var time = new SignalingTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddHttpClient("payments", c => c.BaseAddress = new Uri("http://localhost"))
            .AddIdempotencyKeys()
            .ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
        await using var provider = services.BuildServiceProvider();
        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("payments");

        var sending = client.PostAsync("/payments", new StringContent(PaymentBody, System.Text.Encoding.UTF8, "application/json"));

        // The server's StoreUnavailableRetryAfter is 2 s.
        await time.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(0, server.Executions);
        time.Advance(TimeSpan.FromSeconds(2));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, server.Executions);
        Assert.Equal(2, server.ReceivedKeys.Count);
        Assert.Single(server.ReceivedKeys.Distinct());
    }

    [Fact]
    public async Task Without_the_key_handler_the_server_refuses_the_request()
    {
        // The baseline the handler exists for: the endpoint requires a key, and a plain client sends none.
        await using var server = await PaymentServer.StartAsync();
        using var client = new HttpClient(server.CreateHandler()) { BaseAddress = new Uri("http://localhost") };

        using var response = await client.PostAsync("/payments", new StringContent(PaymentBody, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("urn:idempotency:idempotency-key-missing", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, server.Executions);
    }

    private sealed class KeyPerAttemptHandler : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Remove("Idempotency-Key");
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
            return base.SendAsync(request, cancellationToken);
        }
    }
}
