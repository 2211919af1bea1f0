using System.Globalization;
using Microsoft.Data.Sqlite;
using PaymentApi.Storage;

namespace PaymentApi.Payments;

/// <summary>
/// The payments table in SQLite. Each call opens its own connection (Microsoft.Data.Sqlite pools them), so one
/// instance serves every request. WAL lets readers run beside the single writer, and several instances of the app can
/// share the database file.
/// </summary>
internal sealed class PaymentLedger
{
    public const string SucceededStatus = "succeeded";

    private const string Columns = "id, amount, currency, description, status, created_at";

    // Timestamps are stored as ISO 8601 round-trip text in UTC: fixed width, so they sort correctly as text.
    private const string TimestampFormat = "O";

    private readonly LedgerDatabase _database;
    private readonly TimeProvider _timeProvider;

    public PaymentLedger(string connectionString, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _database = new LedgerDatabase(connectionString);
        _timeProvider = timeProvider;
    }

    /// <summary>The default ledger: <c>App_Data/ledger.db</c> under the app's content root.</summary>
    public static string DefaultConnectionString(string contentRootPath) =>
        new SqliteConnectionStringBuilder { DataSource = Path.Combine(contentRootPath, "App_Data", "ledger.db") }.ToString();

    /// <summary>Creates the database file, its folder and the schema when missing, and switches the file to WAL.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        _database.EnsureFolder();

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();

        // The UNIQUE index is the second guard against double charges: if the idempotency record is lost (evicted,
        // expired, a restarted in-memory store), the retry's insert collides here instead of charging again.
        // NULL keys never collide, so requests without a key are not deduplicated by the ledger.
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS payments (
                id              TEXT    NOT NULL PRIMARY KEY,
                owner           TEXT    NOT NULL,
                idempotency_key TEXT    NULL,
                amount          INTEGER NOT NULL,
                currency        TEXT    NOT NULL,
                description     TEXT    NULL,
                status          TEXT    NOT NULL,
                created_at      TEXT    NOT NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS ux_payments_owner_idempotency_key ON payments (owner, idempotency_key);
            CREATE INDEX IF NOT EXISTS ix_payments_owner_created_at ON payments (owner, created_at);
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Records a payment, or returns the payment already recorded under <paramref name="idempotencyKey"/> for this
    /// owner. The caller compares the returned payment with its request to tell a retry from a reused key.
    /// </summary>
    public async Task<Payment> CreateAsync(string owner, string? idempotencyKey, long amount, string currency, string? description, CancellationToken cancellationToken)
    {
        var payment = new Payment($"pay_{Guid.CreateVersion7():N}", amount, currency, description, SucceededStatus, _timeProvider.GetUtcNow());

        await using var connection = await OpenAsync(cancellationToken);
        await using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO payments (id, owner, idempotency_key, amount, currency, description, status, created_at)
            VALUES ($id, $owner, $key, $amount, $currency, $description, $status, $createdAt)
            ON CONFLICT (owner, idempotency_key) DO NOTHING
            """;
        insert.Parameters.AddWithValue("$id", payment.Id);
        insert.Parameters.AddWithValue("$owner", owner);
        insert.Parameters.AddWithValue("$key", (object?)idempotencyKey ?? DBNull.Value);
        insert.Parameters.AddWithValue("$amount", payment.Amount);
        insert.Parameters.AddWithValue("$currency", payment.Currency);
        insert.Parameters.AddWithValue("$description", (object?)payment.Description ?? DBNull.Value);
        insert.Parameters.AddWithValue("$status", payment.Status);
        insert.Parameters.AddWithValue("$createdAt", payment.CreatedAt.ToString(TimestampFormat, CultureInfo.InvariantCulture));
        if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            return payment;
        }

        // The key was used before by this owner. The statement above is atomic, so of two concurrent requests
        // exactly one inserts and the other lands here and finds the committed row.
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT {Columns} FROM payments WHERE owner = $owner AND idempotency_key = $key";
        select.Parameters.AddWithValue("$owner", owner);
        select.Parameters.AddWithValue("$key", idempotencyKey);
        return await ReadSingleAsync(select, cancellationToken)
            ?? throw new InvalidOperationException("The payment that holds this idempotency key has disappeared.");
    }

    /// <summary>The owner's payments, newest first.</summary>
    public async Task<IReadOnlyList<Payment>> ListAsync(string owner, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();

        // rowid breaks ties between payments made in the same tick: it grows with every insert.
        command.CommandText = $"SELECT {Columns} FROM payments WHERE owner = $owner ORDER BY created_at DESC, rowid DESC LIMIT $limit";
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$limit", limit);

        var payments = new List<Payment>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            payments.Add(Read(reader));
        }

        return payments;
    }

    /// <summary>The payment with this id when <paramref name="owner"/> made it; otherwise <see langword="null"/>.</summary>
    public async Task<Payment?> FindAsync(string owner, string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM payments WHERE id = $id AND owner = $owner";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$owner", owner);
        return await ReadSingleAsync(command, cancellationToken);
    }

    /// <summary>Reads from the payments table; throws when the database is unreachable or has no schema.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM payments LIMIT 1";
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) => _database.OpenAsync(cancellationToken);

    private static async Task<Payment?> ReadSingleAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static Payment Read(SqliteDataReader reader) => new(
        Id: reader.GetString(0),
        Amount: reader.GetInt64(1),
        Currency: reader.GetString(2),
        Description: reader.IsDBNull(3) ? null : reader.GetString(3),
        Status: reader.GetString(4),
        CreatedAt: DateTimeOffset.ParseExact(reader.GetString(5), TimestampFormat, CultureInfo.InvariantCulture));
}
