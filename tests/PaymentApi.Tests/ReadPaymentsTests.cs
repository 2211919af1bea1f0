using System.Net;
using Microsoft.Extensions.DependencyInjection;
using PaymentApi.Payments;
using static PaymentApi.Tests.PaymentRequests;

namespace PaymentApi.Tests;

public sealed class ReadPaymentsTests(PaymentApiFactory factory) : IClassFixture<PaymentApiFactory>
{
    [Fact]
    public async Task List_is_newest_first()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var first = await client.CreatePaymentAsync(amount: 101);
        var second = await client.CreatePaymentAsync(amount: 102);
        var third = await client.CreatePaymentAsync(amount: 103);

        var payments = await client.ListPaymentsAsync("?limit=3");

        Assert.Equal([third.Id(), second.Id(), first.Id()], payments.Select(payment => payment.Id()));
    }

    [Fact]
    public async Task List_shows_only_the_callers_payments()
    {
        using var alice = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var bob = factory.CreateClient(PaymentApiFactory.BobKey);
        var alicesPayment = await alice.CreatePaymentAsync(amount: 7000);
        var bobsPayment = await bob.CreatePaymentAsync(amount: 8000);

        var bobsList = (await bob.ListPaymentsAsync("?limit=1000")).Select(payment => payment.Id()).ToList();
        var alicesList = (await alice.ListPaymentsAsync("?limit=1000")).Select(payment => payment.Id()).ToList();

        Assert.Contains(bobsPayment.Id(), bobsList);
        Assert.DoesNotContain(alicesPayment.Id(), bobsList);
        Assert.Contains(alicesPayment.Id(), alicesList);
        Assert.DoesNotContain(bobsPayment.Id(), alicesList);
        Assert.Equal(await factory.CountPaymentsAsync("bob"), bobsList.Count);
    }

    [Fact]
    public async Task Limit_caps_the_list()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        await client.CreatePaymentAsync();
        await client.CreatePaymentAsync();
        await client.CreatePaymentAsync();

        Assert.Equal(2, (await client.ListPaymentsAsync("?limit=2")).Length);
        Assert.Single(await client.ListPaymentsAsync("?limit=1"));
    }

    [Fact]
    public async Task Limit_defaults_to_100_and_goes_up_to_1000()
    {
        // Filled through the ledger directly: 120 HTTP round trips would test nothing more.
        await using var scope = factory.Services.CreateAsyncScope();
        var ledger = scope.ServiceProvider.GetRequiredService<PaymentLedger>();
        for (var i = 0; i < 120; i++)
        {
            await ledger.CreateAsync("bob", NewKey(), 100 + i, "EUR", null, CancellationToken.None);
        }

        using var client = factory.CreateClient(PaymentApiFactory.BobKey);

        Assert.Equal(100, (await client.ListPaymentsAsync()).Length);
        Assert.Equal(await factory.CountPaymentsAsync("bob"), (await client.ListPaymentsAsync("?limit=1000")).Length);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1001")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("99999999999")]
    public async Task An_invalid_limit_is_a_400_problem(string limit)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        using var response = await client.GetAsync($"/payments?limit={limit}");

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Get_by_id_returns_the_callers_payment()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var payment = await client.CreatePaymentAsync(amount: 4321, description: "Books");

        using var response = await client.GetAsync($"/payments/{payment.Id()}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(payment.GetRawText(), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_by_id_of_another_users_payment_is_a_404_problem()
    {
        using var alice = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var bob = factory.CreateClient(PaymentApiFactory.BobKey);
        var alicesPayment = await alice.CreatePaymentAsync();

        using var response = await bob.GetAsync($"/payments/{alicesPayment.Id()}");

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Get_by_an_unknown_id_is_a_404_problem()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        using var response = await client.GetAsync("/payments/pay_does_not_exist");

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }
}
