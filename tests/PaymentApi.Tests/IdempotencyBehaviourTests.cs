using System.Net;
using static PaymentApi.Tests.PaymentRequests;

namespace PaymentApi.Tests;

/// <summary>
/// docs/contract.md §3 as the sample's clients see it, with the default store (records in the ledger's database, transactional). Most of these need the idempotency
/// middleware itself (replays carry <c>Idempotent-Replayed: true</c>; the handler runs once).
/// </summary>
public sealed class IdempotencyBehaviourTests(PaymentApiFactory factory) : IClassFixture<PaymentApiFactory>
{
    [Fact]
    public async Task A_payment_without_a_key_is_400_idempotency_key_missing_and_charges_nothing()
    {
        using var client = factory.CreateClient(PaymentApiFactory.BobKey);
        var before = await factory.CountPaymentsAsync("bob");

        using var response = await client.PostPaymentAsync(idempotencyKey: null, Body());

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:idempotency:idempotency-key-missing");
        Assert.Equal(before, await factory.CountPaymentsAsync("bob"));
    }

    [Fact]
    public async Task A_retry_with_the_same_key_and_body_replays_the_first_response()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();
        var listedBefore = (await client.ListPaymentsAsync("?limit=1000")).Length;

        using var first = await client.PostPaymentAsync(key, Body(1250));
        using var retry = await client.PostPaymentAsync(key, Body(1250));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.False(first.IsReplayed());
        Assert.Equal(first.StatusCode, retry.StatusCode);
        Assert.True(retry.IsReplayed());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(listedBefore + 1, (await client.ListPaymentsAsync("?limit=1000")).Length);
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_422_idempotency_key_reused()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();
        using var first = await client.PostPaymentAsync(key, Body(1250));

        using var reused = await client.PostPaymentAsync(key, Body(1300));

        await AssertProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "urn:idempotency:idempotency-key-reused");
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
    }

    [Fact]
    public async Task Reordered_and_reformatted_JSON_is_the_same_request()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();
        using var first = await client.PostPaymentAsync(key, """{"amount":1250,"currency":"EUR","description":"Coffee beans"}""");

        using var retry = await client.PostPaymentAsync(key, """
            {
              "description" : "Coffee beans",
              "currency" : "EUR",
              "amount" : 1250
            }
            """);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.IsReplayed());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
    }

    [Fact]
    public async Task Two_users_with_the_same_key_get_two_independent_payments()
    {
        using var alice = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var bob = factory.CreateClient(PaymentApiFactory.BobKey);
        var key = NewKey();

        using var alicesResponse = await alice.PostPaymentAsync(key, Body(1250));
        using var bobsResponse = await bob.PostPaymentAsync(key, Body(1250));

        Assert.Equal(HttpStatusCode.Created, alicesResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Created, bobsResponse.StatusCode);
        Assert.False(bobsResponse.IsReplayed());
        Assert.NotEqual(alicesResponse.Headers.Location, bobsResponse.Headers.Location);
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
        Assert.Equal(1, await factory.CountPaymentsAsync("bob", key));
    }

    [Fact]
    public async Task Sixteen_concurrent_requests_with_one_key_make_one_payment()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();
        var body = Body(4200);

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => client.PostPaymentAsync(key, body))));
        try
        {
            await AssertOneExecutionOthersReplayedOrInFlightAsync(responses);

            Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }
}
