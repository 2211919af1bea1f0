using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace PaymentApi.Storage;

/// <summary>
/// The ledger's tables and indexes, one script per provider, each creating only what is missing: safe to run on
/// every start, by several instances at once, and on a database made by an earlier version of the sample (its
/// tables are kept as they are).
/// </summary>
/// <remarks>
/// Not <c>EnsureCreated</c>: it creates nothing once any table exists (so a table added later never appears in an
/// existing database), and two instances starting together race on it. Not migrations: a sample that creates its
/// schema on start has nothing to migrate yet. The scripts match the mapping in <see cref="LedgerDbContext"/>,
/// including the idempotency store's tables, which an application with migrations would get from its migrations.
/// </remarks>
internal static class LedgerSchema
{
    // The same schema the SQLite ledger has always had, so an existing ledger.db is used as it is. WAL lets readers
    // run beside the single writer, and several instances of the app share the file. Payments keep SQLite's rowid,
    // which orders payments made in the same tick. The idempotency_* tables are what MapIdempotencyTables() maps, as
    // EF Core's GenerateCreateScript() writes them for this provider (a test compares the two).
    private const string Sqlite = """
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
        CREATE TABLE IF NOT EXISTS idempotency_records (
            key           TEXT    NOT NULL CONSTRAINT PK_idempotency_records PRIMARY KEY,
            fingerprint   BLOB    NOT NULL,
            state         INTEGER NOT NULL,
            fencing_token INTEGER NOT NULL,
            expires_at    INTEGER NOT NULL,
            response      BLOB    NULL
        );
        CREATE INDEX IF NOT EXISTS ix_idempotency_records_expires_at ON idempotency_records (expires_at);
        CREATE TABLE IF NOT EXISTS idempotency_streams (
            stream_key       TEXT    NOT NULL CONSTRAINT PK_idempotency_streams PRIMARY KEY,
            epoch            INTEGER NOT NULL,
            last_sequence    INTEGER NOT NULL,
            retain_until     INTEGER NOT NULL,
            slot_token       INTEGER NOT NULL,
            slot_epoch       INTEGER NOT NULL,
            slot_sequence    INTEGER NOT NULL,
            slot_fingerprint BLOB    NULL,
            slot_expires_at  INTEGER NOT NULL,
            expires_at       INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_idempotency_streams_expires_at ON idempotency_streams (expires_at);
        CREATE TABLE IF NOT EXISTS idempotency_stream_responses (
            stream_key  TEXT    NOT NULL,
            sequence    INTEGER NOT NULL,
            fingerprint BLOB    NOT NULL,
            response    BLOB    NOT NULL,
            CONSTRAINT PK_idempotency_stream_responses PRIMARY KEY (stream_key, sequence)
        );
        CREATE TABLE IF NOT EXISTS idempotency_fencing (
            id         INTEGER NOT NULL CONSTRAINT PK_idempotency_fencing PRIMARY KEY,
            next_token INTEGER NOT NULL
        );
        """;

    // Two sessions running CREATE TABLE IF NOT EXISTS for one table at the same moment can both pass the check and
    // one then fails on the catalog's unique index: the advisory lock, held to the end of the transaction, lets
    // instances starting together create the schema one after another. PostgreSQL's DDL is transactional, so a
    // start-up that dies half-way leaves nothing half-made. Money is bigint; timestamps are timestamptz. The
    // idempotency_* tables are what MapIdempotencyTables() maps, as EF Core's GenerateCreateScript() writes them for
    // Npgsql (a test compares the two).
    private const string PostgreSql = """
        SELECT pg_advisory_xact_lock(hashtext('paymentapi.ledger.schema'));
        CREATE TABLE IF NOT EXISTS payments (
            id              text        NOT NULL PRIMARY KEY,
            position        bigint      GENERATED ALWAYS AS IDENTITY,
            owner           text        NOT NULL,
            idempotency_key text        NULL,
            amount          bigint      NOT NULL,
            currency        text        NOT NULL,
            description     text        NULL,
            status          text        NOT NULL,
            created_at      timestamptz NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS ux_payments_owner_idempotency_key ON payments (owner, idempotency_key);
        CREATE INDEX IF NOT EXISTS ix_payments_owner_created_at ON payments (owner, created_at);
        CREATE TABLE IF NOT EXISTS accounts (
            id            text   NOT NULL PRIMARY KEY,
            owner         text   NOT NULL,
            balance       bigint NOT NULL CONSTRAINT ck_accounts_balance CHECK (balance >= 0),
            last_sequence bigint NOT NULL
        );
        CREATE TABLE IF NOT EXISTS transfers (
            id         text        NOT NULL PRIMARY KEY,
            account_id text        NOT NULL REFERENCES accounts (id),
            sequence   bigint      NOT NULL,
            to_ref     text        NOT NULL,
            amount     bigint      NOT NULL,
            created_at timestamptz NOT NULL,
            UNIQUE (account_id, sequence)
        );
        CREATE TABLE IF NOT EXISTS declined_transfers (
            account_id text        NOT NULL REFERENCES accounts (id),
            sequence   bigint      NOT NULL,
            to_ref     text        NOT NULL,
            amount     bigint      NOT NULL,
            balance    bigint      NOT NULL,
            created_at timestamptz NOT NULL,
            PRIMARY KEY (account_id, sequence)
        );
        CREATE TABLE IF NOT EXISTS idempotency_records (
            key           varchar(64) NOT NULL CONSTRAINT "PK_idempotency_records" PRIMARY KEY,
            fingerprint   bytea       NOT NULL,
            state         smallint    NOT NULL,
            fencing_token bigint      NOT NULL,
            expires_at    bigint      NOT NULL,
            response      bytea       NULL
        );
        CREATE INDEX IF NOT EXISTS ix_idempotency_records_expires_at ON idempotency_records (expires_at);
        CREATE TABLE IF NOT EXISTS idempotency_streams (
            stream_key       varchar(64) NOT NULL CONSTRAINT "PK_idempotency_streams" PRIMARY KEY,
            epoch            bigint      NOT NULL,
            last_sequence    bigint      NOT NULL,
            retain_until     bigint      NOT NULL,
            slot_token       bigint      NOT NULL,
            slot_epoch       bigint      NOT NULL,
            slot_sequence    bigint      NOT NULL,
            slot_fingerprint bytea       NULL,
            slot_expires_at  bigint      NOT NULL,
            expires_at       bigint      NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_idempotency_streams_expires_at ON idempotency_streams (expires_at);
        CREATE TABLE IF NOT EXISTS idempotency_stream_responses (
            stream_key  varchar(64) NOT NULL,
            sequence    bigint      NOT NULL,
            fingerprint bytea       NOT NULL,
            response    bytea       NOT NULL,
            CONSTRAINT "PK_idempotency_stream_responses" PRIMARY KEY (stream_key, sequence)
        );
        CREATE TABLE IF NOT EXISTS idempotency_fencing (
            id         integer NOT NULL CONSTRAINT "PK_idempotency_fencing" PRIMARY KEY,
            next_token bigint  NOT NULL
        );
        """;

    /// <summary>Creates the tables and indexes that are missing (and, for SQLite, the file and its folder).</summary>
    public static async Task CreateAsync(LedgerDbContext context, CancellationToken cancellationToken)
    {
        var database = context.Database;
        if (database.IsSqlite())
        {
            CreateSqliteFolder(database.GetConnectionString()!);

            // journal_mode cannot change inside a transaction; each CREATE ... IF NOT EXISTS is atomic on its own.
            await database.ExecuteSqlRawAsync(Sqlite, cancellationToken);
            return;
        }

        await using var transaction = await database.BeginTransactionAsync(cancellationToken);
        await database.ExecuteSqlRawAsync(PostgreSql, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static void CreateSqliteFolder(string connectionString)
    {
        var settings = new SqliteConnectionStringBuilder(connectionString);
        if (settings.Mode != SqliteOpenMode.Memory && settings.DataSource is not ("" or ":memory:"))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.DataSource))!);
        }
    }
}
