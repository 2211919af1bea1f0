using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using PaymentApi.Accounts;
using PaymentApi.Payments;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>
/// The ledgers inside a transaction someone else opened on the request's context, as the idempotency middleware does
/// in its transactional mode: their writes commit or roll back with it, a refusal undoes only what the ledger itself
/// did, and a collision on a unique index leaves the transaction usable. Run on each provider by the subclasses.
/// </summary>
public abstract class LedgerInOpenTransactionTests : IAsyncLifetime
{
    private const string Account = "acc-1";

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 11, 23, 9, 30, 0, TimeSpan.Zero));
    private readonly List<LedgerDbContext> _contexts = [];
    private string _connectionString = string.Empty;

    public async Task InitializeAsync()
    {
        _connectionString = await CreateDatabaseAsync();
        await LedgerSchema.CreateAsync(NewContext(), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }

        await DeleteDatabaseAsync();
    }

    /// <summary>Makes an empty database and returns the connection string the ledger takes.</summary>
    protected abstract Task<string> CreateDatabaseAsync();

    protected abstract Task DeleteDatabaseAsync();

    [Fact]
    public async Task A_transfer_and_a_payment_in_an_open_transaction_commit_with_it()
    {
        var context = NewContext();
        await using var transaction = await context.Database.BeginTransactionAsync();

        var transfer = await new AccountLedger(context, _clock).TransferAsync("alice", Account, 1, "payee-1", 100, CancellationToken.None);
        var payment = await new PaymentLedger(context, _clock).CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None);

        Assert.Equal(TransferStatus.Applied, transfer.Status);
        Assert.Null(await FindAccountAsync());
        Assert.Null(await FindPaymentAsync(payment.Id));

        await transaction.CommitAsync();

        Assert.Equal(new Account(Account, AccountLedger.OpeningBalance - 100, 1), await FindAccountAsync());
        Assert.Equal(transfer.Transfer, await new AccountLedger(NewContext(), _clock).FindTransferAsync("alice", Account, transfer.Transfer!.Id, CancellationToken.None));
        Assert.Equal(payment, await FindPaymentAsync(payment.Id));
    }

    [Fact]
    public async Task A_transfer_and_a_payment_in_an_open_transaction_are_undone_when_it_rolls_back()
    {
        var context = NewContext();
        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            Assert.Equal(TransferStatus.Applied, (await new AccountLedger(context, _clock).TransferAsync("alice", Account, 1, "payee-1", 100, CancellationToken.None)).Status);
            await new PaymentLedger(context, _clock).CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None);
            await transaction.RollbackAsync();
        }

        Assert.Null(await FindAccountAsync());
        Assert.Equal(0, await NewContext().Payments.CountAsync());

        // The number was not used up: the retry applies it.
        var retry = await new AccountLedger(NewContext(), _clock).TransferAsync("alice", Account, 1, "payee-1", 100, CancellationToken.None);
        Assert.Equal(TransferStatus.Applied, retry.Status);
    }

    [Fact]
    public async Task A_refused_transfer_in_an_open_transaction_undoes_only_the_account_it_opened()
    {
        var context = NewContext();
        var accounts = new AccountLedger(context, _clock);
        await using var transaction = await context.Database.BeginTransactionAsync();
        var payment = await new PaymentLedger(context, _clock).CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None);

        var early = await accounts.TransferAsync("alice", Account, 2, "payee-1", 100, CancellationToken.None);
        var other = await accounts.TransferAsync("alice", "acc-2", 1, "payee-1", 100, CancellationToken.None);
        await transaction.CommitAsync();

        Assert.Equal(TransferResult.SequenceGap(lastSequence: 0), early);
        Assert.Equal(TransferStatus.Applied, other.Status);
        Assert.Null(await FindAccountAsync());
        Assert.Equal(payment, await FindPaymentAsync(payment.Id));
        Assert.NotNull(await new AccountLedger(NewContext(), _clock).FindAccountAsync("alice", "acc-2", CancellationToken.None));

        // Nobody claimed acc-1: Bob can still open it.
        Assert.Equal(TransferStatus.Applied, (await new AccountLedger(NewContext(), _clock).TransferAsync("bob", Account, 1, "payee-1", 100, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_key_used_before_returns_the_first_payment_and_the_open_transaction_goes_on()
    {
        var first = await new PaymentLedger(NewContext(), _clock).CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None);
        var context = NewContext();
        var payments = new PaymentLedger(context, _clock);
        await using var transaction = await context.Database.BeginTransactionAsync();

        // The insert collides with the UNIQUE index. On PostgreSQL a failed statement aborts the whole transaction
        // unless it ran behind a savepoint: the writes after it prove it did.
        var again = await payments.CreateAsync("alice", "key-1", 1250, "EUR", null, CancellationToken.None);
        var next = await payments.CreateAsync("alice", "key-2", 990, "EUR", null, CancellationToken.None);
        var transfer = await new AccountLedger(context, _clock).TransferAsync("alice", Account, 1, "payee-1", 100, CancellationToken.None);
        await transaction.CommitAsync();

        Assert.Equal(first, again);
        Assert.Equal(TransferStatus.Applied, transfer.Status);
        Assert.Equal(next, await FindPaymentAsync(next.Id));
        Assert.Equal(2, await NewContext().Payments.CountAsync());
    }

    private LedgerDbContext NewContext()
    {
        var context = TestLedgers.CreateContext(_connectionString);
        _contexts.Add(context);
        return context;
    }

    private Task<Account?> FindAccountAsync() =>
        new AccountLedger(NewContext(), _clock).FindAccountAsync("alice", Account, CancellationToken.None);

    private Task<Payment?> FindPaymentAsync(string id) =>
        new PaymentLedger(NewContext(), _clock).FindAsync("alice", id, CancellationToken.None);
}
