using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Idempotency.Testing.PostgreSql;
using static PaymentApi.Tests.PaymentRequests;
using static PaymentApi.Tests.TransferRequests;

namespace PaymentApi.Tests;

/// <summary>
/// The sample with <c>ConnectionStrings:Ledger</c> set to a PostgreSQL (<c>Host=</c>) connection string: the same API on
/// the other provider, instances that start together on an empty database, and instances sharing one database (ledger
/// and idempotency records) that act as one service: one payment per key, each number applied once, and a retry that
/// reaches the other instance replayed.
/// </summary>
[Collection(PostgreSqlLedgerCollection.Name)]
public sealed class RunningOnPostgreSqlTests(PostgreSqlServerFixture server)
{
    [Fact]
    public async Task Payments_transfers_and_health_work_on_PostgreSQL()
    {
        await using var factory = new PostgreSqlPaymentApiFactory(await server.CreateDatabaseAsync());
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();
        var account = NewAccountId();

        using var created = await client.PostPaymentAsync(key, Body(1250));
        using var replayed = await client.PostPaymentAsync(key, Body(1250));
        using var fetched = await client.GetAsync(created.Headers.Location);
        var transfer = await client.TransferAsync(account, 1, amount: 300);
        using var health = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var payment = await created.Content.ReadAsStringAsync();
        Assert.True(replayed.IsReplayed());
        Assert.Equal(payment, await replayed.Content.ReadAsStringAsync());
        Assert.Equal(payment, await fetched.Content.ReadAsStringAsync());
        Assert.Equal([JsonDocument.Parse(payment).RootElement.Id()], (await client.ListPaymentsAsync()).Select(listed => listed.Id()));
        Assert.Equal(1, await factory.CountPaymentsAsync("alice", key));
        Assert.Equal(1, transfer.GetProperty("sequence").GetInt64());
        var opened = await client.GetAccountAsync(account);
        Assert.Equal((OpeningBalance - 300, 1L), (opened.Balance(), opened.LastSequence()));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var report = await health.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("ledger").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Three_instances_starting_at_once_on_an_empty_database_share_it()
    {
        var database = await server.CreateDatabaseAsync();
        PostgreSqlPaymentApiFactory[] instances = [new(database), new(database), new(database)];
        try
        {
            // Each start creates the schema: all three at the same moment.
            await Task.WhenAll(instances.Select(instance => Task.Run(() => instance.Server)));
            using var first = instances[0].CreateClient(PaymentApiFactory.AliceKey);
            var payment = await first.CreatePaymentAsync(amount: 777);

            foreach (var instance in instances)
            {
                using var client = instance.CreateClient(PaymentApiFactory.AliceKey);
                Assert.Equal([payment.Id()], (await client.ListPaymentsAsync()).Select(listed => listed.Id()));
            }
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Concurrent_duplicates_split_across_two_instances_make_one_payment()
    {
        var database = await server.CreateDatabaseAsync();
        await using var first = new PostgreSqlPaymentApiFactory(database);
        await using var second = new PostgreSqlPaymentApiFactory(database);
        using var firstClient = first.CreateClient(PaymentApiFactory.AliceKey);
        using var secondClient = second.CreateClient(PaymentApiFactory.AliceKey);

        // Both instances up before the race, so the copies meet in the handlers and not in start-up.
        _ = await firstClient.ListPaymentsAsync();
        _ = await secondClient.ListPaymentsAsync();
        HttpClient[] clients = [firstClient, secondClient];
        var key = NewKey();
        var body = Body(4200);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var sends = Enumerable.Range(0, 16).Select(async i =>
        {
            await start.Task;
            return await clients[i % 2].PostPaymentAsync(key, body);
        }).ToArray();
        start.SetResult();
        var responses = await Task.WhenAll(sends);
        try
        {
            // The records are shared too: one copy runs the handler, wherever it landed; every other one is its
            // byte-identical replay or waited its turn and was told the request is in flight.
            await AssertOneExecutionOthersReplayedOrInFlightAsync(responses);
            Assert.Equal(1, await first.CountPaymentsAsync("alice", key));
            Assert.Equal(1, await second.CountIdempotencyRowsAsync("idempotency_records"));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_transfer_retried_on_another_instance_is_replayed_and_applied_once()
    {
        var database = await server.CreateDatabaseAsync();
        await using var first = new PostgreSqlPaymentApiFactory(database);
        await using var second = new PostgreSqlPaymentApiFactory(database);
        using var firstClient = first.CreateClient(PaymentApiFactory.AliceKey);
        using var secondClient = second.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();

        using var applied = await firstClient.PostTransferAsync(account, 1, TransferBody(amount: 100));
        using var retriedElsewhere = await secondClient.PostTransferAsync(account, 1, TransferBody(amount: 100));

        // The stream lives in the shared database: the second instance knows number 1 and replays its answer.
        Assert.Equal(HttpStatusCode.Created, applied.StatusCode);
        Assert.True(retriedElsewhere.IsReplayed());
        Assert.Equal(await applied.Content.ReadAsByteArrayAsync(), await retriedElsewhere.Content.ReadAsByteArrayAsync());
        var state = await secondClient.GetAccountAsync(account);
        Assert.Equal((OpeningBalance - 100, 1L), (state.Balance(), state.LastSequence()));
    }

    [Fact]
    public async Task A_payment_retried_on_another_instance_is_replayed_byte_for_byte()
    {
        var database = await server.CreateDatabaseAsync();
        await using var first = new PostgreSqlPaymentApiFactory(database);
        await using var second = new PostgreSqlPaymentApiFactory(database);
        using var firstClient = first.CreateClient(PaymentApiFactory.AliceKey);
        using var secondClient = second.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();

        using var created = await firstClient.PostPaymentAsync(key, Body(2100));
        using var retriedElsewhere = await secondClient.PostPaymentAsync(key, Body(2100));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.True(retriedElsewhere.IsReplayed());
        Assert.Equal(created.Headers.Location, retriedElsewhere.Headers.Location);
        Assert.Equal(await created.Content.ReadAsByteArrayAsync(), await retriedElsewhere.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, await second.CountPaymentsAsync("alice", key));
    }

    [Fact]
    public async Task On_PostgreSQL_a_payment_whose_handler_fails_after_its_ledger_write_leaves_neither_payment_nor_record()
    {
        await using var factory = new PostgreSqlPaymentApiFactory(await server.CreateDatabaseAsync());
        await TransactionalPayments.AssertHandlerFailureLeavesNothingAsync(factory);
    }
}
