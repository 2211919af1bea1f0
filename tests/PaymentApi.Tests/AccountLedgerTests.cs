using System.Runtime.ExceptionServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using PaymentApi.Accounts;
using PaymentApi.Payments;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>
/// The account ledger on its own, without the web host or the idempotency middleware: each account's numbers are
/// processed once, in order, which still holds when the middleware has forgotten a stream.
/// </summary>
public sealed class AccountLedgerTests : IAsyncLifetime
{
    private const string Account = "acc-1";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"paymentapi-tests-{Guid.NewGuid():N}");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 11, 23, 9, 30, 0, TimeSpan.Zero));
    private readonly List<LedgerDbContext> _contexts = [];
    private readonly AccountLedger _ledger;

    public AccountLedgerTests()
    {
        _ledger = new AccountLedger(NewContext(), _clock);
    }

    private string DatabasePath => Path.Combine(_folder, "data", "ledger.db");

    public Task InitializeAsync() => LedgerSchema.CreateAsync(NewContext(), CancellationToken.None);

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }

        TempDatabase.Delete(DatabasePath);
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task The_first_transfer_opens_the_account_for_its_caller_with_the_opening_balance()
    {
        Assert.Null(await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));

        var result = await TransferAsync(1, amount: 100);

        Assert.Equal(TransferStatus.Applied, result.Status);
        Assert.Equal(new Transfer(result.Transfer!.Id, Account, "payee-1", 100, 1, _clock.GetUtcNow()), result.Transfer);
        Assert.StartsWith("tr_", result.Transfer.Id, StringComparison.Ordinal);
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 100, 1), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
    }

    [Fact]
    public async Task Transfers_in_order_are_applied_one_after_another()
    {
        var first = await TransferAsync(1, amount: 100);
        var second = await TransferAsync(2, amount: 250, to: "payee-2");
        var third = await TransferAsync(3, amount: 4000);

        Assert.All([first, second, third], result => Assert.Equal(TransferStatus.Applied, result.Status));
        Assert.Equal([1L, 2L, 3L], (await RowsAsync()).Select(row => row.Sequence));
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 4350, 3), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
        Assert.Equal(second.Transfer, await _ledger.FindTransferAsync("alice", Account, second.Transfer!.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_number_applied_before_returns_the_existing_transfer_and_changes_nothing()
    {
        var first = await TransferAsync(1, amount: 100);
        await TransferAsync(2, amount: 200);
        _clock.Advance(TimeSpan.FromMinutes(5));

        var again = await TransferAsync(1, amount: 100);

        Assert.Equal(TransferStatus.Applied, again.Status);
        Assert.Equal(first.Transfer, again.Transfer);
        Assert.Equal(2, (await RowsAsync()).Length);
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 300, 2), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
    }

    [Theory]
    [InlineData(101, "payee-1")]
    [InlineData(100, "payee-2")]
    public async Task A_number_applied_before_with_other_details_is_refused_and_changes_nothing(long amount, string to)
    {
        await TransferAsync(1, amount: 100, to: "payee-1");

        var reused = await TransferAsync(1, amount, to);

        Assert.Equal(TransferStatus.SequenceReused, reused.Status);
        Assert.Single(await RowsAsync());
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 100, 1), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
    }

    [Fact]
    public async Task A_number_beyond_the_next_is_refused_with_the_last_number_and_changes_nothing()
    {
        await TransferAsync(1, amount: 100);

        var early = await TransferAsync(3, amount: 100);

        Assert.Equal(TransferResult.SequenceGap(lastSequence: 1), early);
        Assert.Single(await RowsAsync());
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 100, 1), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
    }

    [Fact]
    public async Task A_first_request_that_is_not_number_1_does_not_open_the_account()
    {
        var early = await TransferAsync(2, amount: 100);

        Assert.Equal(TransferResult.SequenceGap(lastSequence: 0), early);
        Assert.Null(await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));

        // Nobody claimed it: Bob can still open it.
        Assert.Equal(TransferStatus.Applied, (await TransferAsync(1, amount: 100, owner: "bob")).Status);
    }

    [Fact]
    public async Task Insufficient_funds_moves_no_money_and_uses_up_the_number()
    {
        await TransferAsync(1, amount: 99_000);

        var declined = await TransferAsync(2, amount: 1_001);

        Assert.Equal(TransferResult.InsufficientFunds(amount: 1_001, balance: 1_000), declined);
        Assert.Single(await RowsAsync());
        Assert.Equal(new Account(Account, 1_000, 2), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));

        // The middleware stored the 422 under number 2, so the client goes on with 3; the ledger must agree.
        Assert.Equal(TransferStatus.Applied, (await TransferAsync(3, amount: 1_000)).Status);
        Assert.Equal(new Account(Account, 0, 3), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
    }

    [Fact]
    public async Task A_declined_number_sent_again_is_declined_again_with_the_balance_it_was_declined_at()
    {
        await TransferAsync(1, amount: 200_000);
        await TransferAsync(2, amount: 30_000);

        var again = await TransferAsync(1, amount: 200_000);
        var reused = await TransferAsync(1, amount: 10);

        Assert.Equal(TransferResult.InsufficientFunds(amount: 200_000, balance: AccountLedger.OpeningBalance), again);
        Assert.Equal(TransferStatus.SequenceReused, reused.Status);
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 30_000, 2), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
    }

    [Fact]
    public async Task The_whole_balance_can_be_transferred()
    {
        var result = await TransferAsync(1, amount: AccountLedger.OpeningBalance);

        Assert.Equal(TransferStatus.Applied, result.Status);
        Assert.Equal(0, (await _ledger.FindAccountAsync("alice", Account, CancellationToken.None))!.Balance);
    }

    [Fact]
    public async Task Another_callers_account_is_not_found_and_unchanged()
    {
        var alices = await TransferAsync(1, amount: 100);

        var bobs = await TransferAsync(2, amount: 100, owner: "bob");

        Assert.Equal(TransferStatus.AccountNotFound, bobs.Status);
        Assert.Equal(TransferStatus.AccountNotFound, (await TransferAsync(1, amount: 100, owner: "bob")).Status);
        Assert.Null(await _ledger.FindAccountAsync("bob", Account, CancellationToken.None));
        Assert.Null(await _ledger.FindTransferAsync("bob", Account, alices.Transfer!.Id, CancellationToken.None));
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 100, 1), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
    }

    [Fact]
    public async Task A_transfer_is_found_only_under_its_own_account()
    {
        var transfer = (await TransferAsync(1, amount: 100)).Transfer!;
        await TransferAsync(1, amount: 100, account: "acc-2");

        Assert.Null(await _ledger.FindTransferAsync("alice", "acc-2", transfer.Id, CancellationToken.None));
        Assert.Null(await _ledger.FindTransferAsync("alice", Account, "tr_unknown", CancellationToken.None));
    }

    [Fact]
    public async Task Sixteen_threads_applying_the_same_number_at_once_make_one_transfer()
    {
        const int threads = 16;
        var results = new TransferResult[threads];
        var failures = new Exception?[threads];
        using var start = new Barrier(threads);
        // A ledger each, as each request has its own: a context serves one operation at a time.
        var ledgers = Enumerable.Range(0, threads).Select(_ => new AccountLedger(NewContext(), _clock)).ToList();
        var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            // Dedicated threads released together, each on its own connection: the requests race for SQLite's write
            // lock, not for a thread-pool slot.
            start.SignalAndWait();
            try
            {
                results[i] = TransferBlocking(ledgers[i], 1, amount: 700);
            }
            catch (Exception exception)
            {
                failures[i] = exception;
            }
        })).ToList();

        workers.ForEach(worker => worker.Start());
        workers.ForEach(worker => worker.Join());

        if (failures.FirstOrDefault(failure => failure is not null) is { } first)
        {
            ExceptionDispatchInfo.Throw(first);
        }

        Assert.All(results, result => Assert.Equal(TransferStatus.Applied, result.Status));
        Assert.Single(results.Select(result => result.Transfer).Distinct());
        Assert.Single(await RowsAsync());
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 700, 1), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
    }

    [Fact]
    public async Task Initialize_can_run_again_and_shares_the_database_with_the_payments()
    {
        await TransferAsync(1, amount: 100);
        var payments = new PaymentLedger(NewContext(), _clock);
        await LedgerSchema.CreateAsync(NewContext(), CancellationToken.None);
        await LedgerSchema.CreateAsync(NewContext(), CancellationToken.None);

        await payments.PingAsync(CancellationToken.None);
        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 100, 1), await _ledger.FindAccountAsync("alice", Account, CancellationToken.None));
        await using var connection = new SqliteConnection($"Data Source={DatabasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }

    private LedgerDbContext NewContext()
    {
        var context = TestLedgers.CreateContext($"Data Source={DatabasePath}");
        _contexts.Add(context);
        return context;
    }

    private Task<TransferResult> TransferAsync(long sequence, long amount, string to = "payee-1", string owner = "alice", string account = Account) =>
        _ledger.TransferAsync(owner, account, sequence, to, amount, CancellationToken.None);

    // Outside the test method on purpose: the concurrency test needs blocking calls on its own threads.
    private static TransferResult TransferBlocking(AccountLedger ledger, long sequence, long amount) =>
        ledger.TransferAsync("alice", Account, sequence, "payee-1", amount, CancellationToken.None).GetAwaiter().GetResult();

    private Task<TransferRow[]> RowsAsync() => TransferRequests.ReadTransferRowsAsync(DatabasePath, Account);
}
