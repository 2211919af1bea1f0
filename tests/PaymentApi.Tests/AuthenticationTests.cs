using System.Net;
using static PaymentApi.Tests.PaymentRequests;

namespace PaymentApi.Tests;

/// <summary>
/// Requests without a valid demo key stop at authentication: 401 problem, no idempotency store call, no ledger row.
/// Only 401 requests are made in this class, so the store's call count stays meaningful.
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
    [InlineData("/payments")]
    [InlineData("/payments/pay_123")]
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
