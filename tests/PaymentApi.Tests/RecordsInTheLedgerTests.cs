using System.Net;
using Microsoft.Data.Sqlite;
using static PaymentApi.Tests.PaymentRequests;
using static PaymentApi.Tests.TransferRequests;

namespace PaymentApi.Tests;

/// <summary>
/// The sample as it runs with no configuration but its ledger: the idempotency records live in the ledger's SQLite
/// file, in transactional mode, so a payment and its record commit together or not at all.
/// </summary>
public sealed class RecordsInTheLedgerTests
{
    [Fact]
    public async Task By_default_a_payment_and_its_record_are_in_the_same_SQLite_file()
    {
        await using var factory = new PaymentApiFactory();
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();

        using var created = await client.PostPaymentAsync(key, Body(1250));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await using var file = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = factory.DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await file.OpenAsync();
        Assert.Equal(1L, await ScalarAsync(file, "SELECT COUNT(*) FROM payments WHERE owner = 'alice' AND idempotency_key = $key", key));
        Assert.Equal(1L, await ScalarAsync(file, "SELECT COUNT(*) FROM idempotency_records"));
    }

    [Fact]
    public async Task By_default_a_transfer_advances_its_stream_in_the_ledger_database()
    {
        await using var factory = new PaymentApiFactory();
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        await client.TransferAsync(NewAccountId(), 1, amount: 100);

        Assert.Equal(1, await factory.CountIdempotencyRowsAsync("idempotency_streams"));
    }

    [Fact]
    public async Task On_SQLite_a_payment_whose_handler_fails_after_its_ledger_write_leaves_neither_payment_nor_record()
    {
        await using var factory = new PaymentApiFactory();
        await TransactionalPayments.AssertHandlerFailureLeavesNothingAsync(factory);
    }

    [Fact]
    public async Task A_transfer_whose_handler_fails_after_its_ledger_write_leaves_neither_account_nor_stream()
    {
        await using var factory = new PaymentApiFactory();
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();

        factory.FailAfterLedgerWrite.ArmOnce();
        using var failed = await client.PostTransferAsync(account, 1, TransferBody(amount: 300));

        // The account the transfer opened, its balance, its number and the middleware's stream all rolled back.
        await AssertProblemAsync(failed, HttpStatusCode.InternalServerError);
        using var missing = await client.GetAsync($"/accounts/{account}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(0, await factory.CountIdempotencyRowsAsync("idempotency_streams"));

        // So number 1 is still the next one, and is applied once.
        using var retried = await client.PostTransferAsync(account, 1, TransferBody(amount: 300));
        using var again = await client.PostTransferAsync(account, 1, TransferBody(amount: 300));
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.True(again.IsReplayed());
        Assert.Equal(await retried.Content.ReadAsByteArrayAsync(), await again.Content.ReadAsByteArrayAsync());
        var state = await client.GetAccountAsync(account);
        Assert.Equal((OpeningBalance - 300, 1L), (state.Balance(), state.LastSequence()));
    }

    [Fact]
    public async Task On_SQLite_a_retry_after_a_committed_payment_replays_it_byte_for_byte()
    {
        await using var factory = new PaymentApiFactory();
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();

        using var created = await client.PostPaymentAsync(key, Body(990));
        using var retried = await client.PostPaymentAsync(key, Body(990));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.True(retried.IsReplayed());
        Assert.Equal(created.StatusCode, retried.StatusCode);
        Assert.Equal(created.Headers.Location, retried.Headers.Location);
        Assert.Equal(await created.Content.ReadAsByteArrayAsync(), await retried.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
    }

    [Fact]
    public async Task On_SQLite_concurrent_copies_of_one_payment_wait_for_the_write_lock_and_run_once()
    {
        await using var factory = new PaymentApiFactory();
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        _ = await client.ListPaymentsAsync();
        var key = NewKey();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Other payments in the same moment compete for SQLite's single write lock too: each waits its turn.
        var copies = Enumerable.Range(0, 16).Select(async _ =>
        {
            await start.Task;
            return await client.PostPaymentAsync(key, Body(4200));
        }).ToArray();
        var others = Enumerable.Range(0, 16).Select(async _ =>
        {
            await start.Task;
            return await client.PostPaymentAsync(NewKey(), Body(10));
        }).ToArray();
        start.SetResult();
        var responses = await Task.WhenAll(copies);
        var otherResponses = await Task.WhenAll(others);
        try
        {
            await AssertOneExecutionOthersReplayedOrInFlightAsync(responses);
            Assert.All(otherResponses, response => Assert.Equal(HttpStatusCode.Created, response.StatusCode));
            Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
            Assert.Equal(17, await factory.CountPaymentsAsync("alice"));
        }
        finally
        {
            foreach (var response in responses.Concat(otherResponses))
            {
                response.Dispose();
            }
        }
    }

    private static async Task<long> ScalarAsync(SqliteConnection connection, string sql, string? key = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (key is not null)
        {
            command.Parameters.AddWithValue("$key", key);
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>What transactional payments must show on every provider.</summary>
internal static class TransactionalPayments
{
    /// <summary>
    /// A handler that throws after writing its payment: the payment and the record roll back together (on the old,
    /// non-transactional sample the payment stayed), the retry runs afresh, and the one after it replays.
    /// </summary>
    public static async Task AssertHandlerFailureLeavesNothingAsync(PaymentApiFactory factory)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();
        _ = await client.ListPaymentsAsync();
        var records = await factory.CountIdempotencyRowsAsync("idempotency_records");

        factory.FailAfterLedgerWrite.ArmOnce();
        using var failed = await client.PostPaymentAsync(key, Body(7700));

        await AssertProblemAsync(failed, HttpStatusCode.InternalServerError);
        Assert.Equal(0, await factory.CountPaymentsAsync("alice", key));
        Assert.Equal(records, await factory.CountIdempotencyRowsAsync("idempotency_records"));

        using var retried = await client.PostPaymentAsync(key, Body(7700));
        using var again = await client.PostPaymentAsync(key, Body(7700));

        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.False(retried.IsReplayed());
        Assert.True(again.IsReplayed());
        Assert.Equal(await retried.Content.ReadAsByteArrayAsync(), await again.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
        Assert.Equal(records + 1, await factory.CountIdempotencyRowsAsync("idempotency_records"));
    }
}
