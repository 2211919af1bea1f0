using System.Net;
using static PaymentApi.Tests.PaymentRequests;

namespace PaymentApi.Tests;

/// <summary>
/// Defence in depth end to end: the idempotency store forgets every record, so each retry reaches the handler again,
/// and the ledger's UNIQUE (owner, idempotency_key) index still prevents a second charge. These hold with the real
/// middleware and without it.
/// </summary>
public sealed class LostIdempotencyRecordTests(ForgetfulStoreFactory factory) : IClassFixture<ForgetfulStoreFactory>
{
    [Fact]
    public async Task A_retry_whose_record_was_lost_returns_the_first_payment()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();

        using var first = await client.PostPaymentAsync(key, Body(2500));
        using var retry = await client.PostPaymentAsync(key, Body(2500));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
    }

    [Fact]
    public async Task A_reused_key_whose_record_was_lost_is_422_idempotency_key_reused()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();
        using var first = await client.PostPaymentAsync(key, Body(2500));

        using var reused = await client.PostPaymentAsync(key, Body(9900));

        await AssertProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "urn:idempotency:idempotency-key-reused");
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
    }

    [Fact]
    public async Task The_quoted_and_the_bare_spelling_of_a_key_are_one_payment()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();

        using var quoted = await client.PostPaymentAsync($"\"{key}\"", Body(3100));
        using var bare = await client.PostPaymentAsync(key, Body(3100));

        Assert.Equal(HttpStatusCode.Created, quoted.StatusCode);
        Assert.Equal(await quoted.Content.ReadAsStringAsync(), await bare.Content.ReadAsStringAsync());
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
    }
}
