using System.Net;
using Idempotency.Client.Tests.Infrastructure;

namespace Idempotency.Client.Tests.Handler;

public sealed class KeyAssignmentTests
{
    [Fact]
    public async Task Post_gets_a_32_digit_guid_key()
    {
        using var client = new TestClient();

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sent = Assert.Single(client.Server.Requests);
        Assert.NotNull(sent.Key);
        Assert.True(Guid.TryParseExact(sent.Key, "N", out _), sent.Key);
    }

    [Fact]
    public async Task Each_logical_request_gets_its_own_key()
    {
        using var client = new TestClient();

        for (var i = 0; i < 3; i++)
        {
            using var response = await client.Client.SendAsync(TestClient.Post());
        }

        Assert.Equal(3, client.Server.Requests.Select(r => r.Key).Distinct().Count());
    }

    [Fact]
    public async Task Patch_gets_a_key()
    {
        using var client = new TestClient();

        using var response = await client.Client.PatchAsync("/payments/1", new StringContent("{}"));

        Assert.NotNull(Assert.Single(client.Server.Requests).Key);
    }

    [Fact]
    public async Task A_key_the_caller_set_is_kept()
    {
        using var client = new TestClient();
        using var request = TestClient.Post();
        request.Headers.Add("Idempotency-Key", "\"order-1001\"");

        using var response = await client.Client.SendAsync(request);

        var sent = Assert.Single(client.Server.Requests);
        Assert.Equal("\"order-1001\"", sent.Key);
    }

    [Fact]
    public async Task Get_is_untouched()
    {
        using var client = new TestClient();
        client.Server.ThenAlways(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight));

        using var response = await client.Client.GetAsync("/payments");

        // No key, and not retried: the handler only takes part in requests of its methods.
        var sent = Assert.Single(client.Server.Requests);
        Assert.Null(sent.Key);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task Put_and_delete_are_untouched_by_default()
    {
        using var client = new TestClient();

        using var put = await client.Client.PutAsync("/payments/1", new StringContent("{}"));
        using var delete = await client.Client.DeleteAsync("/payments/1");

        Assert.All(client.Server.Requests, r => Assert.Null(r.Key));
    }

    [Fact]
    public async Task Methods_can_be_extended()
    {
        using var client = new TestClient(o => o.Methods.Add(HttpMethod.Put));

        using var response = await client.Client.PutAsync("/payments/1", new StringContent("{}"));

        Assert.NotNull(Assert.Single(client.Server.Requests).Key);
    }

    [Fact]
    public async Task KeyFactory_and_KeyHeaderName_are_used()
    {
        var counter = 0;
        using var client = new TestClient(o =>
        {
            o.KeyHeaderName = "X-Request-Key";
            o.KeyFactory = request => $"{request.Method}-{Interlocked.Increment(ref counter)}";
        });

        using var response = await client.Client.SendAsync(TestClient.Post());

        var sent = Assert.Single(client.Server.Requests);
        Assert.Null(sent.Key);
        Assert.Equal(["POST-1"], sent.Message.Headers.GetValues("X-Request-Key"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("line\nbreak")]
    [InlineData("caf\u00e9")]
    public async Task A_key_factory_returning_an_unusable_key_fails_the_request_without_sending_it(string key)
    {
        using var client = new TestClient(o => o.KeyFactory = _ => key);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => client.Client.SendAsync(TestClient.Post()));

        Assert.Contains("IdempotencyClientOptions.KeyFactory", error.Message, StringComparison.Ordinal);
        Assert.Empty(client.Server.Requests);
    }

    [Fact]
    public void Synchronous_send_gets_a_key_too()
    {
        using var client = new TestClient();
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight, retryAfter: "0"));

        using var response = client.Client.Send(TestClient.Post());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var keys = client.Server.Requests.Select(r => r.Key).ToArray();
        Assert.Equal(2, keys.Length);
        Assert.NotNull(keys[0]);
        Assert.Equal(keys[0], keys[1]);
    }
}
