using System.Globalization;
using Microsoft.Data.Sqlite;
using PaymentApi.Storage;

namespace PaymentApi.Accounts;

/// <summary>
/// Accounts and their numbered transfers in SQLite, in the same database as the payments. Each account's transfer
/// requests carry the numbers 1, 2, 3, ... and the ledger processes each number exactly once, in order: it is the
/// second guard behind the idempotency middleware's sequence mode, and the one that holds when the middleware has
/// forgotten a stream (a restarted in-memory store, an expired stream).
/// </summary>
/// <remarks>
/// A number is used up when its request is applied or declined for insufficient funds; these are the only outcomes
/// the <c>transfers</c> idempotency policy stores, so the middleware's "last applied number" and the ledger's
/// <c>last_sequence</c> move together. Every other answer (validation, not found, out of order) changes nothing here
/// and is not stored there, so the client sends the same number again.
/// </remarks>
internal sealed class AccountLedger
{
    /// <summary>What a new account holds, in minor units.</summary>
    public const long OpeningBalance = 100_000;

    // The order ReadTransferAsync reads them in.
    private const string TransferColumns = "id, account_id, to_ref, amount, sequence, created_at";

    // The same format as the payments: ISO 8601 round-trip text in UTC.
    private const string TimestampFormat = "O";

    private readonly LedgerDatabase _database;
    private readonly TimeProvider _timeProvider;

    public AccountLedger(string connectionString, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _database = new LedgerDatabase(connectionString);
        _timeProvider = timeProvider;
    }

    /// <summary>Creates the folder, the tables and the indexes when missing, and switches the file to WAL.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        _database.EnsureFolder();

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();

        // UNIQUE (account_id, sequence) is the last word on "exactly once": even a bug in the checks below could not
        // store two transfers under one number. Declined requests are kept apart from transfers (no money moved) but
        // share the numbering: a number is in one table or the other, never both.
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS accounts (
                id            TEXT    NOT NULL PRIMARY KEY,
                owner         TEXT    NOT NULL,
                balance       INTEGER NOT NULL CHECK (balance >= 0),
                last_sequence INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS transfers (
                id         TEXT    NOT NULL PRIMARY KEY,
                account_id TEXT    NOT NULL REFERENCES accounts (id),
                sequence   INTEGER NOT NULL,
                to_ref     TEXT    NOT NULL,
                amount     INTEGER NOT NULL,
                created_at TEXT    NOT NULL,
                UNIQUE (account_id, sequence)
            );
            CREATE TABLE IF NOT EXISTS declined_transfers (
                account_id TEXT    NOT NULL REFERENCES accounts (id),
                sequence   INTEGER NOT NULL,
                to_ref     TEXT    NOT NULL,
                amount     INTEGER NOT NULL,
                balance    INTEGER NOT NULL,
                created_at TEXT    NOT NULL,
                PRIMARY KEY (account_id, sequence)
            );
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Processes transfer request <paramref name="sequence"/> of <paramref name="accountId"/> for
    /// <paramref name="owner"/>, opening the account with <see cref="OpeningBalance"/> when it does not exist yet.
    /// </summary>
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

        await using var connection = await OpenAsync(cancellationToken);

        // BEGIN IMMEDIATE (Serializable): the write lock is taken before the account is read, so two requests for one
        // number cannot both see it as next. A deferred transaction would let both read, and one fail on upgrade.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, cancellationToken);

        var account = await ReadAccountAsync(connection, accountId, cancellationToken);
        if (account is null)
        {
            account = new AccountRow(owner, OpeningBalance, LastSequence: 0);
            await ExecuteAsync(
                connection,
                "INSERT INTO accounts (id, owner, balance, last_sequence) VALUES ($id, $owner, $balance, 0)",
                cancellationToken,
                ("$id", accountId), ("$owner", owner), ("$balance", OpeningBalance));
        }
        else if (!string.Equals(account.Owner, owner, StringComparison.Ordinal))
        {
            return TransferResult.AccountNotFound();
        }

        if (sequence <= account.LastSequence)
        {
            // Processed before: the idempotency layer has lost this number (or never saw it). Answer what was
            // answered then, and change nothing.
            return await FindProcessedAsync(connection, accountId, sequence, to, amount, cancellationToken);
        }

        if (sequence > account.LastSequence + 1)
        {
            // The account opened above (if it did) is rolled back with the transaction: a refused request claims nothing.
            return TransferResult.SequenceGap(account.LastSequence);
        }

        var now = _timeProvider.GetUtcNow();
        var createdAt = now.ToString(TimestampFormat, CultureInfo.InvariantCulture);
        TransferResult result;
        if (amount > account.Balance)
        {
            await ExecuteAsync(
                connection,
                """
                INSERT INTO declined_transfers (account_id, sequence, to_ref, amount, balance, created_at)
                VALUES ($accountId, $sequence, $to, $amount, $balance, $createdAt)
                """,
                cancellationToken,
                ("$accountId", accountId), ("$sequence", sequence), ("$to", to), ("$amount", amount), ("$balance", account.Balance), ("$createdAt", createdAt));
            result = TransferResult.InsufficientFunds(amount, account.Balance);
        }
        else
        {
            var transfer = new Transfer($"tr_{Guid.CreateVersion7():N}", accountId, to, amount, sequence, now);
            await ExecuteAsync(
                connection,
                """
                INSERT INTO transfers (id, account_id, sequence, to_ref, amount, created_at)
                VALUES ($id, $accountId, $sequence, $to, $amount, $createdAt)
                """,
                cancellationToken,
                ("$id", transfer.Id), ("$accountId", accountId), ("$sequence", sequence), ("$to", to), ("$amount", amount), ("$createdAt", createdAt));
            result = TransferResult.Applied(transfer);
        }

        var balance = result.Status == TransferStatus.Applied ? account.Balance - amount : account.Balance;
        await ExecuteAsync(
            connection,
            "UPDATE accounts SET balance = $balance, last_sequence = $sequence WHERE id = $id",
            cancellationToken,
            ("$balance", balance), ("$sequence", sequence), ("$id", accountId));

        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>The account when <paramref name="owner"/> holds it; otherwise <see langword="null"/>.</summary>
    public async Task<Account?> FindAccountAsync(string owner, string accountId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var account = await ReadAccountAsync(connection, accountId, cancellationToken);
        return account is not null && string.Equals(account.Owner, owner, StringComparison.Ordinal)
            ? new Account(accountId, account.Balance, account.LastSequence)
            : null;
    }

    /// <summary>The transfer with this id out of this account when <paramref name="owner"/> holds the account; otherwise <see langword="null"/>.</summary>
    public async Task<Transfer?> FindTransferAsync(string owner, string accountId, string transferId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT t.id, t.account_id, t.to_ref, t.amount, t.sequence, t.created_at
            FROM transfers t JOIN accounts a ON a.id = t.account_id
            WHERE t.id = $id AND t.account_id = $accountId AND a.owner = $owner
            """;
        command.Parameters.AddWithValue("$id", transferId);
        command.Parameters.AddWithValue("$accountId", accountId);
        command.Parameters.AddWithValue("$owner", owner);
        return await ReadTransferAsync(command, cancellationToken);
    }

    private async Task<TransferResult> FindProcessedAsync(SqliteConnection connection, string accountId, long sequence, string to, long amount, CancellationToken cancellationToken)
    {
        await using var transfer = connection.CreateCommand();
        transfer.CommandText = $"SELECT {TransferColumns} FROM transfers WHERE account_id = $accountId AND sequence = $sequence";
        transfer.Parameters.AddWithValue("$accountId", accountId);
        transfer.Parameters.AddWithValue("$sequence", sequence);
        if (await ReadTransferAsync(transfer, cancellationToken) is { } applied)
        {
            return applied.To == to && applied.Amount == amount ? TransferResult.Applied(applied) : TransferResult.SequenceReused();
        }

        await using var declined = connection.CreateCommand();
        declined.CommandText = "SELECT to_ref, amount, balance FROM declined_transfers WHERE account_id = $accountId AND sequence = $sequence";
        declined.Parameters.AddWithValue("$accountId", accountId);
        declined.Parameters.AddWithValue("$sequence", sequence);
        await using var reader = await declined.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new InvalidOperationException($"Account '{accountId}' has processed number {sequence}, but neither a transfer nor a decline is recorded for it.");
        }

        return reader.GetString(0) == to && reader.GetInt64(1) == amount
            ? TransferResult.InsufficientFunds(amount, reader.GetInt64(2))
            : TransferResult.SequenceReused();
    }

    private static async Task<AccountRow?> ReadAccountAsync(SqliteConnection connection, string accountId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT owner, balance, last_sequence FROM accounts WHERE id = $id";
        command.Parameters.AddWithValue("$id", accountId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new AccountRow(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2))
            : null;
    }

    private static async Task<Transfer?> ReadTransferAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new Transfer(
            Id: reader.GetString(0),
            From: reader.GetString(1),
            To: reader.GetString(2),
            Amount: reader.GetInt64(3),
            Sequence: reader.GetInt64(4),
            CreatedAt: DateTimeOffset.ParseExact(reader.GetString(5), TimestampFormat, CultureInfo.InvariantCulture));
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) => _database.OpenAsync(cancellationToken);

    private sealed record AccountRow(string Owner, long Balance, long LastSequence);
}
