using System.Net;
using Idempotency.Client.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Idempotency.Client.Tests.Handler;

public sealed class SequenceNumberTests
{
    [Fact]
    public async Task Requests_are_numbered_1_2_3()
    {
        using var client = new TestClient(o => o.AssignSequenceNumbers = true);

        for (var i = 0; i < 3; i++)
        {
            using var response = await client.Client.SendAsync(TestClient.Post());
        }

        Assert.Equal(["1", "2", "3"], client.Server.Requests.Select(r => r.SequenceNumber));
        Assert.All(client.Server.Requests, r => Assert.Null(r.SequenceStream));
        Assert.All(client.Server.Requests, r => Assert.Null(r.SequenceEpoch));
    }

    [Fact]
    public async Task Numbering_is_off_by_default()
    {
        using var client = new TestClient();

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Null(Assert.Single(client.Server.Requests).SequenceNumber);
    }

    [Fact]
    public async Task A_retry_keeps_its_number_and_the_next_request_takes_the_next()
    {
        using var client = new TestClient(o => o.AssignSequenceNumbers = true);
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight, retryAfter: "1"));

        var sending = client.Client.SendAsync(TestClient.Post());
        await client.Time.WaitForTimerAsync(TimeSpan.FromSeconds(1));
        client.Time.Advance(TimeSpan.FromSeconds(1));
        (await sending).Dispose();
        (await client.Client.SendAsync(TestClient.Post())).Dispose();

        var sent = client.Server.Requests.ToArray();
        Assert.Equal(["1", "1", "2"], sent.Select(r => r.SequenceNumber));
        Assert.Equal(sent[0].Key, sent[1].Key);
        Assert.NotEqual(sent[1].Key, sent[2].Key);
    }

    [Fact]
    public async Task Get_is_not_numbered_and_takes_no_number()
    {
        using var client = new TestClient(o => o.AssignSequenceNumbers = true);

        (await client.Client.GetAsync("/payments")).Dispose();
        (await client.Client.SendAsync(TestClient.Post())).Dispose();

        Assert.Equal([null, "1"], client.Server.Requests.Select(r => r.SequenceNumber));
    }

    [Fact]
    public async Task Stream_epoch_and_first_number_are_sent_as_configured()
    {
        using var client = new TestClient(o =>
        {
            o.AssignSequenceNumbers = true;
            o.SequenceStream = "account-42";
            o.SequenceEpoch = 7;
            o.FirstSequenceNumber = 100;
        });

        (await client.Client.SendAsync(TestClient.Post())).Dispose();
        (await client.Client.SendAsync(TestClient.Post())).Dispose();

        Assert.Equal(["100", "101"], client.Server.Requests.Select(r => r.SequenceNumber));
        Assert.All(client.Server.Requests, r => Assert.Equal("account-42", r.SequenceStream));
        Assert.All(client.Server.Requests, r => Assert.Equal("7", r.SequenceEpoch));
    }

    [Fact]
    public async Task A_stream_the_caller_names_has_its_own_numbers()
    {
        using var client = new TestClient(o => o.AssignSequenceNumbers = true);

        foreach (var stream in new[] { "a", "b", "a", null, "a" })
        {
            using var request = TestClient.Post();
            if (stream is not null)
            {
                request.Headers.Add("Sequence-Stream", stream);
            }

            (await client.Client.SendAsync(request)).Dispose();
        }

        Assert.Equal(
            [("a", "1"), ("b", "1"), ("a", "2"), (null, "1"), ("a", "3")],
            client.Server.Requests.Select(r => (r.SequenceStream, r.SequenceNumber)));
    }

    [Fact]
    public async Task A_number_the_caller_set_is_kept_and_takes_no_number()
    {
        using var client = new TestClient(o => o.AssignSequenceNumbers = true);
        using var request = TestClient.Post();
        request.Headers.Add("Sequence-Number", "41");

        (await client.Client.SendAsync(request)).Dispose();
        (await client.Client.SendAsync(TestClient.Post())).Dispose();

        Assert.Equal(["41", "1"], client.Server.Requests.Select(r => r.SequenceNumber));
    }

    [Fact]
    public async Task Concurrent_senders_get_distinct_consecutive_numbers()
    {
        using var client = new TestClient(o => o.AssignSequenceNumbers = true);

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => client.Client.SendAsync(TestClient.Post()))));
        foreach (var response in responses)
        {
            response.Dispose();
        }

        var numbers = client.Server.Requests.Select(r => long.Parse(r.SequenceNumber!, System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), numbers);
    }

    [Fact]
    public async Task Numbers_survive_the_handler_chain_being_rebuilt()
    {
        // IHttpClientFactory builds a new handler chain every HandlerLifetime (2 minutes by default) from the client's
        // builder actions; the stream must go on, not start again at 1. Build two chains the way the factory does.
        using var client = new TestClient(o => o.AssignSequenceNumbers = true);
        var factoryOptions = client.Services.GetRequiredService<IOptionsMonitor<HttpClientFactoryOptions>>().Get(TestClient.Name);

        HttpClient BuildChain()
        {
            var builder = client.Services.GetRequiredService<HttpMessageHandlerBuilder>();
            builder.Name = TestClient.Name;
            foreach (var action in factoryOptions.HttpMessageHandlerBuilderActions)
            {
                action(builder);
            }

            return new HttpClient(builder.Build(), disposeHandler: false) { BaseAddress = new Uri("http://payments.test") };
        }

        using var first = BuildChain();
        using var second = BuildChain();
        (await first.SendAsync(TestClient.Post())).Dispose();
        (await second.SendAsync(TestClient.Post())).Dispose();
        (await first.SendAsync(TestClient.Post())).Dispose();

        Assert.Equal(["1", "2", "3"], client.Server.Requests.Select(r => r.SequenceNumber));
    }

    [Fact]
    public async Task Sequence_gap_is_retried_when_asked()
    {
        using var client = new TestClient(o =>
        {
            o.AssignSequenceNumbers = true;
            o.RetrySequenceGap = true;
            o.DefaultRetryAfter = TimeSpan.FromMilliseconds(100);
        });
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, Responses.SequenceGap, retryAfter: null));

        var sending = client.Client.SendAsync(TestClient.Post());
        await client.Time.WaitForTimerAsync(TimeSpan.FromMilliseconds(100));
        client.Time.Advance(TimeSpan.FromMilliseconds(100));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(["1", "1"], client.Server.Requests.Select(r => r.SequenceNumber));
    }
}
