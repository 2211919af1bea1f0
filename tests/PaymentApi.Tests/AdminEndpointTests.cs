using System.Net;
using System.Text.Json;
using static PaymentApi.Tests.PaymentRequests;

namespace PaymentApi.Tests;

/// <summary>
/// The sample's admin endpoints as docs/operations.md calls them: mapped in Development for the demo operator
/// <c>ops</c> (<c>sk_test_ops</c>), refused to customers.
/// </summary>
public sealed class AdminEndpointTests(PaymentApiFactory factory) : IClassFixture<PaymentApiFactory>
{
    [Fact]
    public async Task The_operator_finds_a_customers_payment_record_and_customers_are_refused()
    {
        using var alice = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();
        using var payment = await alice.PostPaymentAsync(key, Body(1001));
        var body = await payment.Content.ReadAsByteArrayAsync();
        using var ops = factory.CreateClient("sk_test_ops");

        using var record = await ops.GetAsync($"/admin/idempotency/records?policy=payments&scope=sub:alice&key={key}&include=body");
        using var refused = await alice.GetAsync($"/admin/idempotency/records?policy=payments&scope=sub:alice&key={key}");

        Assert.Equal(HttpStatusCode.OK, record.StatusCode);
        var json = JsonDocument.Parse(await record.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("completed", json.GetProperty("state").GetString());
        Assert.Equal(body, Convert.FromBase64String(json.GetProperty("response").GetProperty("bodyBase64").GetString()!));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }
}
