using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static PaymentApi.Tests.PaymentRequests;

namespace PaymentApi.Tests;

public sealed class CreatePaymentTests(PaymentApiFactory factory) : IClassFixture<PaymentApiFactory>
{
    [Fact]
    public async Task Create_is_201_with_Location_and_the_payment()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var before = DateTimeOffset.UtcNow;

        using var response = await client.PostPaymentAsync(NewKey(), Body(1250, "EUR", "Coffee beans"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var payment = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(
            ["id", "amount", "currency", "description", "status", "createdAt"],
            payment.EnumerateObject().Select(property => property.Name));
        Assert.StartsWith("pay_", payment.Id(), StringComparison.Ordinal);
        Assert.Equal(1250, payment.GetProperty("amount").GetInt64());
        Assert.Equal("EUR", payment.GetProperty("currency").GetString());
        Assert.Equal("Coffee beans", payment.GetProperty("description").GetString());
        Assert.Equal("succeeded", payment.GetProperty("status").GetString());
        Assert.InRange(payment.GetProperty("createdAt").GetDateTimeOffset(), before, DateTimeOffset.UtcNow);
        Assert.Equal($"/payments/{payment.Id()}", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Location_serves_the_same_payment()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var created = await client.PostPaymentAsync(NewKey(), Body(990, "USD", "Tea"));

        using var fetched = await client.GetAsync(created.Headers.Location);

        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal(await created.Content.ReadAsStringAsync(), await fetched.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"amount": 1, "currency": "EUR"}""")]
    [InlineData("""{"amount": 100000000, "currency": "JPY", "description": null}""")]
    [InlineData("""{"amount": 1250, "currency": "EUR", "description": ""}""")]
    [InlineData("""{"amount": 1250, "currency": "EUR", "unknown": true}""")]
    public async Task Boundary_values_are_accepted(string body)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        using var response = await client.PostPaymentAsync(NewKey(), body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task A_500_character_description_is_accepted()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        var payment = await client.CreatePaymentAsync(description: new string('x', 500));

        Assert.Equal(500, payment.GetProperty("description").GetString()!.Length);
    }

    [Theory]
    [InlineData("""{"currency": "EUR"}""", "amount")]
    [InlineData("""{"amount": null, "currency": "EUR"}""", "amount")]
    [InlineData("""{"amount": 0, "currency": "EUR"}""", "amount")]
    [InlineData("""{"amount": -1250, "currency": "EUR"}""", "amount")]
    [InlineData("""{"amount": 100000001, "currency": "EUR"}""", "amount")]
    [InlineData("""{"amount": 1250}""", "currency")]
    [InlineData("""{"amount": 1250, "currency": "eur"}""", "currency")]
    [InlineData("""{"amount": 1250, "currency": "EURO"}""", "currency")]
    [InlineData("""{"amount": 1250, "currency": "E1R"}""", "currency")]
    [InlineData("""{"amount": 1250, "currency": ""}""", "currency")]
    [InlineData("""{}""", "amount")]
    public async Task Invalid_fields_are_400_validation_problems(string body, string field)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var before = await factory.CountPaymentsAsync("alice");

        using var response = await client.PostPaymentAsync(NewKey(), body);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"No error for '{field}' in {problem}.");
        Assert.Equal(before, await factory.CountPaymentsAsync("alice"));
    }

    [Fact]
    public async Task A_501_character_description_is_a_400_validation_problem()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        using var response = await client.PostPaymentAsync(NewKey(), Body(description: new string('x', 501)));

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("description", out _));
    }

    [Theory]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("""{"amount": 1250, "currency": "EUR",}""")]
    [InlineData("[]")]
    [InlineData("\"a string\"")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("""{"amount": "1250", "currency": "EUR"}""")]
    [InlineData("""{"amount": 12.50, "currency": "EUR"}""")]
    [InlineData("""{"amount": 1250, "currency": 978}""")]
    public async Task Malformed_JSON_is_a_400_problem_never_a_500(string body)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var before = await factory.CountPaymentsAsync("alice");

        using var response = await client.PostPaymentAsync(NewKey(), body);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(before, await factory.CountPaymentsAsync("alice"));
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_is_a_415_problem()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var request = Create(NewKey(), Body());
        request.Content = new StringContent("amount=1250&currency=EUR", Encoding.UTF8, "application/x-www-form-urlencoded");

        using var response = await client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }
}
