using Idempotency.Testing.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using PaymentApi.Accounts;
using PaymentApi.Payments;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>
/// The ledgers on PostgreSQL, without the web host: the schema is created safely by instances starting together, and
/// the guards that SQLite's single writer gave for free (one payment per key, each number once and in order) hold
/// under real concurrency, each caller on its own connection.
/// </summary>
[Collection(PostgreSqlLedgerCollection.Name)]
public sealed class PostgreSqlLedgerTests(PostgreSqlServerFixture server) : IAsyncLifetime
{
    private const string Account = "acc-1";

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 11, 23, 9, 30, 0, TimeSpan.Zero));
    private readonly List<LedgerDbContext> _contexts = [];
    private string _connectionString = string.Empty;

    public async Task InitializeAsync()
    {
        _connectionString = await server.CreateDatabaseAsync();
        await LedgerSchema.CreateAsync(NewContext(), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
    }

    [Fact]
    public async Task Three_instances_creating_the_schema_at_once_all_succeed_and_can_do_it_again()
    {
        for (var round = 0; round < 5; round++)
        {
            var connectionString = await server.CreateDatabaseAsync();

            await RaceAsync(3, _ => LedgerSchema.CreateAsync(NewContext(connectionString), CancellationToken.None));
            await RaceAsync(3, _ => LedgerSchema.CreateAsync(NewContext(connectionString), CancellationToken.None));

            Assert.Null(await new PaymentLedger(NewContext(connectionString), _clock).FindAsync("alice", "pay_none", CancellationToken.None));
        }
    }

    [Fact]
    public async Task Sixteen_connections_creating_one_key_at_once_make_one_payment()
    {
        var contexts = await OpenContextsAsync(16);
        var payments = await RaceAsync(16, i => new PaymentLedger(contexts[i], _clock).CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None));

        Assert.Single(payments.Distinct());
        Assert.Equal(1, await NewContext().Payments.CountAsync());
    }

    [Fact]
    public async Task Sixteen_connections_applying_number_1_of_a_new_account_at_once_make_one_transfer()
    {
        var contexts = await OpenContextsAsync(16);
        var results = await RaceAsync(16, i => new AccountLedger(contexts[i], _clock).TransferAsync("alice", Account, 1, "payee-1", 700, CancellationToken.None));

        Assert.All(results, result => Assert.Equal(TransferStatus.Applied, result.Status));
        Assert.Single(results.Select(result => result.Transfer).Distinct());
        Assert.Equal(1, await NewContext().Transfers.CountAsync());
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 700, 1), await FindAccountAsync());
    }

    [Fact]
    public async Task Sixteen_connections_applying_the_next_number_of_an_open_account_at_once_make_one_transfer()
    {
        await new AccountLedger(NewContext(), _clock).TransferAsync("alice", Account, 1, "payee-1", 100, CancellationToken.None);

        // The account exists, so nothing but the row lock keeps them from all reading number 2 as next.
        var contexts = await OpenContextsAsync(16);
        var results = await RaceAsync(16, i => new AccountLedger(contexts[i], _clock).TransferAsync("alice", Account, 2, "payee-1", 700, CancellationToken.None));

        Assert.All(results, result => Assert.Equal(TransferStatus.Applied, result.Status));
        Assert.Single(results.Select(result => result.Transfer).Distinct());
        Assert.Equal(2, await NewContext().Transfers.CountAsync());
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 800, 2), await FindAccountAsync());
    }

    [Fact]
    public async Task Numbers_sent_all_at_once_are_applied_once_each_in_order()
    {
        const int numbers = 24;

        // Each number on its own connection, sent again while the ledger answers that earlier ones are missing.
        var contexts = await OpenContextsAsync(numbers);
        var results = await RaceAsync(numbers, async i =>
        {
            var ledger = new AccountLedger(contexts[i], _clock);
            while (true)
            {
                var result = await ledger.TransferAsync("alice", Account, i + 1, "payee-1", i + 1, CancellationToken.None);
                if (result.Status != TransferStatus.SequenceGap)
                {
                    return result;
                }

                await Task.Delay(5);
            }
        });

        Assert.All(results, result => Assert.Equal(TransferStatus.Applied, result.Status));
        var transfers = await NewContext().Transfers.AsNoTracking().OrderBy(transfer => transfer.Sequence).ToListAsync();
        Assert.Equal(Enumerable.Range(1, numbers).Select(i => (long)i), transfers.Select(transfer => transfer.Sequence));
        Assert.All(transfers, transfer => Assert.Equal(transfer.Sequence, transfer.Amount));
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - (numbers * (numbers + 1) / 2), numbers), await FindAccountAsync());
    }

    [Fact]
    public async Task Payments_made_in_the_same_tick_list_newest_first()
    {
        var ledger = new PaymentLedger(NewContext(), _clock);
        var first = await ledger.CreateAsync("alice", "key-1", 1, "EUR", null, CancellationToken.None);
        var second = await ledger.CreateAsync("alice", "key-2", 2, "EUR", null, CancellationToken.None);
        var third = await ledger.CreateAsync("alice", "key-3", 3, "EUR", null, CancellationToken.None);

        Assert.Equal([third, second, first], await new PaymentLedger(NewContext(), _clock).ListAsync("alice", 10, CancellationToken.None));
    }

    [Fact]
    public async Task A_payment_and_a_transfer_read_back_as_they_were_answered()
    {
        // Ticks finer than PostgreSQL's microseconds: what the API answers must be what it reads back later.
        _clock.Advance(TimeSpan.FromTicks(1_234_567));

        var payment = await new PaymentLedger(NewContext(), _clock).CreateAsync("alice", "key-1", 1250, "EUR", "Coffee beans", CancellationToken.None);
        var transfer = (await new AccountLedger(NewContext(), _clock).TransferAsync("alice", Account, 1, "payee-1", 100, CancellationToken.None)).Transfer!;

        Assert.Equal(payment, await new PaymentLedger(NewContext(), _clock).FindAsync("alice", payment.Id, CancellationToken.None));
        Assert.Equal(transfer, await new AccountLedger(NewContext(), _clock).FindTransferAsync("alice", Account, transfer.Id, CancellationToken.None));
    }

    private static async Task<T[]> RaceAsync<T>(int count, Func<int, Task<T>> operation)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            await start.Task;
            return await operation(i);
        }).ToArray();
        start.SetResult();
        return await Task.WhenAll(tasks);
    }

    private static Task RaceAsync(int count, Func<int, Task> operation) =>
        RaceAsync(count, async i =>
        {
            await operation(i);
            return true;
        });

    /// <summary>Contexts with their connections open, so that a race is not spread out by connecting.</summary>
    private async Task<LedgerDbContext[]> OpenContextsAsync(int count)
    {
        var contexts = Enumerable.Range(0, count).Select(_ => NewContext()).ToArray();
        foreach (var context in contexts)
        {
            await context.Database.OpenConnectionAsync();
        }

        return contexts;
    }

    private LedgerDbContext NewContext(string? connectionString = null)
    {
        var context = TestLedgers.CreateContext(connectionString ?? _connectionString);
        _contexts.Add(context);
        return context;
    }

    private Task<Account?> FindAccountAsync() =>
        new AccountLedger(NewContext(), _clock).FindAccountAsync("alice", Account, CancellationToken.None);
}
