using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using PaymentApi.Storage;

namespace PaymentApi.Accounts;

/// <summary>
/// Accounts and their numbered transfers, in the same database as the payments and through the request's
/// <see cref="LedgerDbContext"/>. Each account's transfer requests carry the numbers 1, 2, 3, ... and the ledger
/// processes each number exactly once, in order: it is the second guard behind the idempotency middleware's sequence
/// mode, and the one that holds when the middleware has forgotten a stream (expired, or lost by Redis).
/// </summary>
/// <remarks>
/// A number is used up when its request is applied or declined for insufficient funds; these are the only outcomes
/// the <c>transfers</c> idempotency policy stores, so the middleware's "last applied number" and the ledger's
/// <c>last_sequence</c> move together. Every other answer (validation, not found, out of order) changes nothing here
/// and is not stored there, so the client sends the same number again.
/// </remarks>
internal sealed class AccountLedger(LedgerDbContext context, TimeProvider timeProvider)
{
    /// <summary>What a new account holds, in minor units.</summary>
    public const long OpeningBalance = 100_000;

    // Names the savepoint this ledger takes inside a transaction someone else opened on the context.
    private const string OpeningSavepoint = "paymentapi_open_account";

    // One projection for every query that returns a transfer.
    private static readonly Expression<Func<TransferEntity, Transfer>> AsTransfer =
        transfer => new Transfer(transfer.Id, transfer.AccountId, transfer.To, transfer.Amount, transfer.Sequence, transfer.CreatedAt);

    /// <summary>
    /// Processes transfer request <paramref name="sequence"/> of <paramref name="accountId"/> for
    /// <paramref name="owner"/>, opening the account with <see cref="OpeningBalance"/> when it does not exist yet.
    /// </summary>
    /// <remarks>
    /// Atomic: it runs in the transaction open on the context (the idempotency middleware's, in its transactional
    /// mode), or in one of its own when none is, and holds the account's lock from its first read to the commit.
    /// </remarks>
    /// <returns>
    /// <see cref="TransferStatus.Applied"/> with the new transfer, or with the one already applied under this number
    /// when its details match; <see cref="TransferStatus.InsufficientFunds"/> now or as recorded for this number;
    /// <see cref="TransferStatus.SequenceReused"/> when the number holds other details;
    /// <see cref="TransferStatus.SequenceGap"/> when the number is not the next one;
    /// <see cref="TransferStatus.AccountNotFound"/> when another owner holds the account.
    /// </returns>
    public async Task<TransferResult> TransferAsync(string owner, string accountId, long sequence, string to, long amount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequence, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(amount, 1);

        var database = context.Database;

        // Our own transaction when none is open: disposed without a commit, it rolls back. Begun with the provider's
        // default level: READ COMMITTED on PostgreSQL (the row lock below does the serializing); on SQLite,
        // Microsoft.Data.Sqlite begins IMMEDIATE, taking the database's write lock before the account is read.
        await using var ownTransaction = database.CurrentTransaction is null ? await database.BeginTransactionAsync(cancellationToken) : null;
        var transaction = database.CurrentTransaction!;

        var account = await ReadAndLockAsync(accountId, cancellationToken);
        var opened = false;
        if (account is null)
        {
            // Inside someone else's transaction the opening is undone by rolling back to this savepoint when the
            // request is refused; in our own, by not committing.
            if (ownTransaction is null)
            {
                await transaction.CreateSavepointAsync(OpeningSavepoint, cancellationToken);
            }

            // Two first transfers of one account may race here: ON CONFLICT lets the second find the first's row
            // (on PostgreSQL it waits for the first to commit or roll back) instead of failing its transaction.
            await database.ExecuteSqlAsync(
                $"INSERT INTO accounts (id, owner, balance, last_sequence) VALUES ({accountId}, {owner}, {OpeningBalance}, {0L}) ON CONFLICT (id) DO NOTHING",
                cancellationToken);
            account = await ReadAndLockAsync(accountId, cancellationToken)
                ?? throw new InvalidOperationException($"Account '{accountId}' was opened but cannot be read.");
            opened = true;
        }

        var result = await ProcessAsync(owner, account, sequence, to, amount, cancellationToken);
        if (result.Status is TransferStatus.Applied or TransferStatus.InsufficientFunds or TransferStatus.SequenceReused)
        {
            if (ownTransaction is not null)
            {
                await ownTransaction.CommitAsync(cancellationToken);
            }
        }
        else if (opened && ownTransaction is null)
        {
            // A refused request claims nothing: the account opened above is undone.
            await transaction.RollbackToSavepointAsync(OpeningSavepoint, cancellationToken);
        }

        return result;
    }

    /// <summary>The account when <paramref name="owner"/> holds it; otherwise <see langword="null"/>.</summary>
    public Task<Account?> FindAccountAsync(string owner, string accountId, CancellationToken cancellationToken) =>
        context.Accounts.AsNoTracking()
            .Where(account => account.Id == accountId && account.Owner == owner)
            .Select(account => new Account(account.Id, account.Balance, account.LastSequence))
            .SingleOrDefaultAsync(cancellationToken);

    /// <summary>The transfer with this id out of this account when <paramref name="owner"/> holds the account; otherwise <see langword="null"/>.</summary>
    public Task<Transfer?> FindTransferAsync(string owner, string accountId, string transferId, CancellationToken cancellationToken) =>
        context.Transfers.AsNoTracking()
            .Where(transfer => transfer.Id == transferId
                && transfer.AccountId == accountId
                && context.Accounts.Any(account => account.Id == transfer.AccountId && account.Owner == owner))
            .Select(AsTransfer)
            .SingleOrDefaultAsync(cancellationToken);

    /// <summary>Decides request <paramref name="sequence"/> against the locked <paramref name="account"/> and records the decision.</summary>
    private async Task<TransferResult> ProcessAsync(string owner, AccountEntity account, long sequence, string to, long amount, CancellationToken cancellationToken)
    {
        if (!string.Equals(account.Owner, owner, StringComparison.Ordinal))
        {
            return TransferResult.AccountNotFound();
        }

        if (sequence <= account.LastSequence)
        {
            // Processed before: the idempotency layer has lost this number (or never saw it). Answer what was
            // answered then, and change nothing.
            return await FindProcessedAsync(account.Id, sequence, to, amount, cancellationToken);
        }

        if (sequence > account.LastSequence + 1)
        {
            return TransferResult.SequenceGap(account.LastSequence);
        }

        var now = LedgerTimestamp.Now(timeProvider);
        TransferResult result;
        long balance;
        if (amount > account.Balance)
        {
            context.DeclinedTransfers.Add(new DeclinedTransferEntity
            {
                AccountId = account.Id,
                Sequence = sequence,
                To = to,
                Amount = amount,
                Balance = account.Balance,
                CreatedAt = now,
            });
            result = TransferResult.InsufficientFunds(amount, account.Balance);
            balance = account.Balance;
        }
        else
        {
            var transfer = new Transfer($"tr_{Guid.CreateVersion7():N}", account.Id, to, amount, sequence, now);
            context.Transfers.Add(new TransferEntity
            {
                Id = transfer.Id,
                AccountId = account.Id,
                Sequence = sequence,
                To = to,
                Amount = amount,
                CreatedAt = now,
            });
            result = TransferResult.Applied(transfer);
            balance = account.Balance - amount;
        }

        await context.Accounts
            .Where(row => row.Id == account.Id)
            .ExecuteUpdateAsync(
                setters => setters.SetProperty(row => row.Balance, balance).SetProperty(row => row.LastSequence, sequence),
                cancellationToken);
        await context.SaveChangesAsync(cancellationToken);
        return result;
    }

    private async Task<TransferResult> FindProcessedAsync(string accountId, long sequence, string to, long amount, CancellationToken cancellationToken)
    {
        var applied = await context.Transfers.AsNoTracking()
            .Where(transfer => transfer.AccountId == accountId && transfer.Sequence == sequence)
            .Select(AsTransfer)
            .SingleOrDefaultAsync(cancellationToken);
        if (applied is not null)
        {
            return applied.To == to && applied.Amount == amount ? TransferResult.Applied(applied) : TransferResult.SequenceReused();
        }

        var declined = await context.DeclinedTransfers.AsNoTracking()
            .SingleOrDefaultAsync(row => row.AccountId == accountId && row.Sequence == sequence, cancellationToken)
            ?? throw new InvalidOperationException($"Account '{accountId}' has processed number {sequence}, but neither a transfer nor a decline is recorded for it.");

        return declined.To == to && declined.Amount == amount
            ? TransferResult.InsufficientFunds(amount, declined.Balance)
            : TransferResult.SequenceReused();
    }

    /// <summary>
    /// Reads the account and holds it until the transaction ends, so two requests for one account are decided one
    /// after the other and never both see the same number as next.
    /// </summary>
    /// <remarks>
    /// PostgreSQL: <c>SELECT ... FOR UPDATE</c> locks the row; a second request waits, then reads the committed row.
    /// SQLite has no row locks: the transaction holds the database's write lock, taken at its <c>BEGIN IMMEDIATE</c>
    /// (ours, or the one EF Core opened for the caller, which Microsoft.Data.Sqlite also begins IMMEDIATE). A caller's
    /// transaction begun DEFERRED would only take it at the first write; a race is then refused with SQLITE_BUSY
    /// rather than applied twice. Not tracked: the decision is written with an explicit update, and a context used for
    /// several requests (tests do that) never sees a stale copy.
    /// </remarks>
    private Task<AccountEntity?> ReadAndLockAsync(string accountId, CancellationToken cancellationToken)
    {
        var accounts = context.Database.IsNpgsql()
            ? context.Accounts.FromSql($"SELECT * FROM accounts WHERE id = {accountId} FOR UPDATE")
            : context.Accounts.Where(account => account.Id == accountId);
        return accounts.AsNoTracking().SingleOrDefaultAsync(cancellationToken);
    }
}
