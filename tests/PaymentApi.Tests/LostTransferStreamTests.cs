using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static PaymentApi.Tests.PaymentRequests;
using static PaymentApi.Tests.TransferRequests;

namespace PaymentApi.Tests;

/// <summary>
/// Defence in depth for transfers: the idempotency store forgets every stream, so each request reaches the handler
/// as if its number were next, and the ledger alone keeps each number processed once, in order. These hold with the
/// middleware's sequence mode and without it.
/// </summary>
public sealed class LostTransferStreamTests(ForgetfulStoreFactory factory) : IClassFixture<ForgetfulStoreFactory>
{
    [Fact]
    public async Task A_number_sent_again_returns_the_first_transfer_and_moves_money_once()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();

        using var first = await client.PostTransferAsync(account, 1, TransferBody(amount: 700));
        using var again = await client.PostTransferAsync(account, 1, TransferBody(amount: 700));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, again.Headers.Location);
        Assert.Single(await ReadTransferRowsAsync(factory.DatabasePath, account));
        Assert.Equal(OpeningBalance - 700, (await client.GetAccountAsync(account)).Balance());
    }

    [Fact]
    public async Task A_number_reused_for_another_transfer_is_422_and_changes_nothing()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1, amount: 700);

        using var reused = await client.PostTransferAsync(account, 1, TransferBody(amount: 900));

        await AssertProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "urn:idempotency:idempotency-key-reused");
        Assert.Equal(OpeningBalance - 700, (await client.GetAccountAsync(account)).Balance());
    }

    [Fact]
    public async Task A_number_beyond_the_next_is_409_sequence_gap_from_the_ledger()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1);

        using var early = await client.PostTransferAsync(account, 3, TransferBody());

        var problem = await AssertProblemAsync(early, HttpStatusCode.Conflict, "urn:idempotency:sequence-gap");
        Assert.Equal(2, problem.GetProperty("expectedSequence").GetInt64());
        Assert.Equal(1, problem.GetProperty("lastSequence").GetInt64());
        Assert.Equal(1, (await client.GetAccountAsync(account)).LastSequence());
    }

    [Fact]
    public async Task A_declined_number_sent_again_is_declined_again_with_the_same_balance()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        using var declined = await client.PostTransferAsync(account, 1, TransferBody(amount: 150_000));
        await client.TransferAsync(account, 2, amount: 40_000);

        using var again = await client.PostTransferAsync(account, 1, TransferBody(amount: 150_000));

        var first = await AssertProblemAsync(declined, HttpStatusCode.UnprocessableEntity, "urn:paymentapi:insufficient-funds");
        var second = await AssertProblemAsync(again, HttpStatusCode.UnprocessableEntity, "urn:paymentapi:insufficient-funds");
        Assert.Equal(OpeningBalance, first.GetProperty("balance").GetInt64());
        Assert.Equal(first.GetProperty("detail").GetString(), second.GetProperty("detail").GetString());
        Assert.Equal(OpeningBalance, second.GetProperty("balance").GetInt64());
        var state = await client.GetAccountAsync(account);
        Assert.Equal(OpeningBalance - 40_000, state.Balance());
        Assert.Equal(2, state.LastSequence());
    }

    [Fact]
    public async Task An_older_number_sent_again_returns_its_transfer_and_changes_nothing()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        var first = await client.TransferAsync(account, 1, amount: 300);
        await client.TransferAsync(account, 2, amount: 300);
        await client.TransferAsync(account, 3, amount: 300);

        using var again = await client.PostTransferAsync(account, 1, TransferBody(amount: 300));

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal(first.Id(), (await again.Content.ReadFromJsonAsync<JsonElement>()).Id());
        Assert.Equal(3, (await ReadTransferRowsAsync(factory.DatabasePath, account)).Length);
    }
}
