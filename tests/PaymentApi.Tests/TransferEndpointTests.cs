using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static PaymentApi.Tests.PaymentRequests;
using static PaymentApi.Tests.TransferRequests;

namespace PaymentApi.Tests;

/// <summary>
/// The accounts endpoints as a client sees them: shapes, validation, ownership. None of these depend on the
/// middleware's sequence mode; every request carries a correct number.
/// </summary>
public sealed class TransferEndpointTests(PaymentApiFactory factory) : IClassFixture<PaymentApiFactory>
{
    [Fact]
    public async Task A_transfer_is_201_with_Location_and_the_transfer()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        var before = DateTimeOffset.UtcNow;

        using var response = await client.PostTransferAsync(account, 1, TransferBody(amount: 100, to: "payee-7"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var transfer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(
            ["id", "from", "to", "amount", "sequence", "createdAt"],
            transfer.EnumerateObject().Select(property => property.Name));
        Assert.StartsWith("tr_", transfer.Id(), StringComparison.Ordinal);
        Assert.Equal(account, transfer.GetProperty("from").GetString());
        Assert.Equal("payee-7", transfer.GetProperty("to").GetString());
        Assert.Equal(100, transfer.GetProperty("amount").GetInt64());
        Assert.Equal(1, transfer.GetProperty("sequence").GetInt64());
        Assert.InRange(transfer.GetProperty("createdAt").GetDateTimeOffset(), before, DateTimeOffset.UtcNow);
        Assert.Equal($"/accounts/{account}/transfers/{transfer.Id()}", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Location_serves_the_same_transfer()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var created = await client.PostTransferAsync(NewAccountId(), 1, TransferBody(amount: 250));

        using var fetched = await client.GetAsync(created.Headers.Location);

        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal(await created.Content.ReadAsStringAsync(), await fetched.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_account_shows_its_id_balance_and_last_sequence()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1, amount: 100);

        using var response = await client.GetAsync($"/accounts/{account}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["id", "balance", "lastSequence"], body.EnumerateObject().Select(property => property.Name));
        Assert.Equal(account, body.GetProperty("id").GetString());
        Assert.Equal(99_900, body.Balance());
        Assert.Equal(1, body.LastSequence());
    }

    [Fact]
    public async Task Transfers_in_order_lower_the_balance_and_count_up()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();

        await client.TransferAsync(account, 1, amount: 100);
        await client.TransferAsync(account, 2, amount: 2_000, to: "payee-2");
        await client.TransferAsync(account, 3, amount: 97_900);

        var state = await client.GetAccountAsync(account);
        Assert.Equal(0, state.Balance());
        Assert.Equal(3, state.LastSequence());
        Assert.Equal([1L, 2L, 3L], (await ReadTransferRowsAsync(factory.DatabasePath, account)).Select(row => row.Sequence));
    }

    [Fact]
    public async Task An_account_nobody_opened_is_a_404_problem()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        using var response = await client.GetAsync($"/accounts/{NewAccountId()}");

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Another_callers_account_is_404_on_every_endpoint_and_stays_unchanged()
    {
        using var alice = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var bob = factory.CreateClient(PaymentApiFactory.BobKey);
        var account = NewAccountId();
        var transfer = await alice.TransferAsync(account, 1, amount: 100);

        using var read = await bob.GetAsync($"/accounts/{account}");
        using var readTransfer = await bob.GetAsync($"/accounts/{account}/transfers/{transfer.Id()}");
        using var transferOut = await bob.PostTransferAsync(account, 1, TransferBody(amount: 50_000, to: "bobs-pocket"));

        // Bob's stream for this id is his own, and a 404 does not use up its number: he is refused again, not replayed.
        using var transferAgain = await bob.PostTransferAsync(account, 1, TransferBody(amount: 60_000, to: "bobs-pocket"));

        await AssertProblemAsync(read, HttpStatusCode.NotFound);
        await AssertProblemAsync(readTransfer, HttpStatusCode.NotFound);
        await AssertProblemAsync(transferOut, HttpStatusCode.NotFound);
        await AssertProblemAsync(transferAgain, HttpStatusCode.NotFound);
        var state = await alice.GetAccountAsync(account);
        Assert.Equal(99_900, state.Balance());
        Assert.Equal(1, state.LastSequence());
    }

    [Fact]
    public async Task A_transfer_is_404_under_another_account_of_the_same_caller()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var first = NewAccountId();
        var second = NewAccountId();
        var transfer = await client.TransferAsync(first, 1);
        await client.TransferAsync(second, 1);

        using var response = await client.GetAsync($"/accounts/{second}/transfers/{transfer.Id()}");

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Insufficient_funds_is_a_422_problem_and_moves_nothing()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1, amount: 99_000);

        using var response = await client.PostTransferAsync(account, 2, TransferBody(amount: 1_001));

        var problem = await AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "urn:paymentapi:insufficient-funds");
        Assert.Equal(1_000, problem.GetProperty("balance").GetInt64());
        var state = await client.GetAccountAsync(account);
        Assert.Equal(1_000, state.Balance());
        Assert.Equal(2, state.LastSequence());
        Assert.Single(await ReadTransferRowsAsync(factory.DatabasePath, account));
    }

    [Theory]
    [InlineData("""{"to": "p", "amount": 1}""")]
    [InlineData("""{"to": "payee-1", "amount": 100000}""")]
    [InlineData("""{"to": "Payee_1-x", "amount": 5, "unknown": true}""")]
    [InlineData("""{"amount": 5, "to": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""")]
    public async Task Boundary_values_are_accepted(string body)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        using var response = await client.PostTransferAsync(NewAccountId(), 1, body);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"to": "payee-1"}""", "amount")]
    [InlineData("""{"to": "payee-1", "amount": null}""", "amount")]
    [InlineData("""{"to": "payee-1", "amount": 0}""", "amount")]
    [InlineData("""{"to": "payee-1", "amount": -100}""", "amount")]
    [InlineData("""{"to": "payee-1", "amount": 100000001}""", "amount")]
    [InlineData("""{"amount": 100}""", "to")]
    [InlineData("""{"to": null, "amount": 100}""", "to")]
    [InlineData("""{"to": "", "amount": 100}""", "to")]
    [InlineData("""{"to": "payee 1", "amount": 100}""", "to")]
    [InlineData("""{"to": "payée", "amount": 100}""", "to")]
    [InlineData("""{"to": "payee/1", "amount": 100}""", "to")]
    [InlineData("""{"to": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "amount": 100}""", "to")]
    [InlineData("""{}""", "amount")]
    public async Task Invalid_fields_are_400_validation_problems_and_open_nothing(string body, string field)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();

        using var response = await client.PostTransferAsync(account, 1, body);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"No error for '{field}' in {problem}.");
        using var read = await client.GetAsync($"/accounts/{account}");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task A_transfer_to_its_own_account_is_a_400_validation_problem()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1);

        using var response = await client.PostTransferAsync(account, 2, TransferBody(to: account));

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("to", out _));
        Assert.Equal(1, (await client.GetAccountAsync(account)).LastSequence());
    }

    [Theory]
    [InlineData("acc.1")]
    [InlineData("acc~1")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task An_invalid_account_id_is_a_400_validation_problem(string account)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        using var response = await client.PostTransferAsync(account, 1, TransferBody());

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("accountId", out _), $"No error for 'accountId' in {problem}.");
    }

    [Theory]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("""{"to": "payee-1", "amount": "100"}""")]
    [InlineData("""{"to": "payee-1", "amount": 1.5}""")]
    [InlineData("""{"to": 42, "amount": 100}""")]
    public async Task Malformed_JSON_is_a_400_problem_never_a_500(string body)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();

        using var response = await client.PostTransferAsync(account, 1, body);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        using var read = await client.GetAsync($"/accounts/{account}");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_is_a_415_problem()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var request = TransferRequests.Create(NewAccountId(), "1", TransferBody());
        request.Content = new StringContent("to=payee-1&amount=100", Encoding.UTF8, "application/x-www-form-urlencoded");

        using var response = await client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("7")]
    public async Task A_sequence_epoch_other_than_0_is_a_409_problem_and_applies_nothing(string epoch)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1);

        // Number 1: what a client restarting under a new epoch sends (the middleware starts a new epoch's count at 1).
        using var request = TransferRequests.Create(account, "1", TransferBody(amount: 500));
        request.Headers.TryAddWithoutValidation(EpochHeader, epoch);
        using var response = await client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.Conflict, "urn:paymentapi:sequence-epoch-unsupported");
        Assert.Equal(1, (await client.GetAccountAsync(account)).LastSequence());

        // The refusal is not stored, so it neither raised the stream's epoch nor used up a number.
        await client.TransferAsync(account, 2);
    }

    [Fact]
    public async Task Sequence_epoch_0_is_the_default_and_accepted()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        using var request = TransferRequests.Create(NewAccountId(), "1", TransferBody());
        request.Headers.TryAddWithoutValidation(EpochHeader, "0");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
