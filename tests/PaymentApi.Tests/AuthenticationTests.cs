using System.Net;
using static PaymentApi.Tests.PaymentRequests;
using static PaymentApi.Tests.TransferRequests;

namespace PaymentApi.Tests;

/// <summary>
/// Requests without a valid demo key stop at authentication: 401 problem, no idempotency store call, no ledger row.
/// Apart from 401s this class makes only reads, which no idempotency policy covers, so the store's call count stays meaningful.
/// </summary>
public sealed class AuthenticationTests(ForgetfulStoreFactory factory) : IClassFixture<ForgetfulStoreFactory>
{
    [Theory]
    [InlineData(null)]
    [InlineData("Bearer sk_test_mallory")]
    [InlineData("Bearer SK_TEST_ALICE")]
    [InlineData("Bearer ")]
    [InlineData("sk_test_alice")]
    [InlineData("Basic c2tfdGVzdF9hbGljZTo=")]
    public async Task Post_without_a_valid_key_is_401_before_any_idempotency_or_ledger_work(string? authorization)
    {
        using var client = factory.CreateClient();
        using var request = Create(NewKey(), Body());
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal(0, factory.Store.Calls);
        Assert.Equal(0, await factory.CountPaymentsAsync("alice"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer sk_test_mallory")]
    public async Task A_transfer_without_a_valid_key_is_401_before_any_idempotency_or_ledger_work(string? authorization)
    {
        using var client = factory.CreateClient();
        var account = NewAccountId();
        using var request = TransferRequests.Create(account, "1", TransferBody());
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal(0, factory.Store.Calls);
        using var alice = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var read = await alice.GetAsync($"/accounts/{account}");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Theory]
    [InlineData("/payments")]
    [InlineData("/payments/pay_123")]
    [InlineData("/accounts/acc-1")]
    [InlineData("/accounts/acc-1/transfers/tr_123")]
    public async Task Reads_without_a_key_are_401(string path)
    {
        using var client = factory.CreateClient();

        using var response = await client.GetAsync(path);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_wrong_key_is_401_on_reads_too()
    {
        using var client = factory.CreateClient("sk_test_mallory");

        using var response = await client.GetAsync("/payments");

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
    }
}
