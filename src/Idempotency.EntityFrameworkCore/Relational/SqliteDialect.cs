using System.Data.Common;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// SQLite (Microsoft.Data.Sqlite). A write transaction holds the database's write lock from its first statement
/// (Microsoft.Data.Sqlite begins <c>BEGIN IMMEDIATE</c>), so no row lock is needed, and the lock wait is the
/// connection's busy timeout.
/// </summary>
internal sealed class SqliteDialect : SqlDialect
{
    public static readonly SqliteDialect Instance = new();

    // Primary result codes (https://sqlite.org/rescode.html): Microsoft.Data.Sqlite reports them as ErrorCode.
    private const int Busy = 5;
    private const int Locked = 6;
    private const int IoError = 10;
    private const int Full = 13;
    private const int CantOpen = 14;

    private SqliteDialect()
    {
    }

    public override string Name => "SQLite";

    // julianday('now') is fixed for the duration of one statement, to the millisecond.
    public override string Now => "CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)";

    public override string RowLock => "";

    public override string RowLockSkippingHeld => "";

    public override string? LockTimeoutStatement(TimeSpan timeout) => null;

    public override string? LockTimeoutReset => null;

    // Without it, Microsoft.Data.Sqlite retries a busy database in steps of 150 ms: under contention every writer
    // would wait at least that long. SQLite's own busy handler waits in steps of a few milliseconds instead.
    // A command timeout of 0 is "no limit" to Microsoft.Data.Sqlite, but a busy timeout of 0 is "fail at once" to SQLite:
    // the longest wait SQLite takes (an int of milliseconds) stands for it.
    // Microsoft.Data.Sqlite's transaction would still try to end a transaction the SQL ended; and there is no round
    // trip to save.
    public override bool CommitsWithLastStatement => false;

    public override string? ConnectionSetup(long commandTimeoutMilliseconds)
        => string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"PRAGMA busy_timeout = {(commandTimeoutMilliseconds is <= 0 or > int.MaxValue ? int.MaxValue : commandTimeoutMilliseconds)}");

    public override bool IsUnavailable(DbException exception)
        => exception.IsTransient || (exception.ErrorCode & 0xFF) is Busy or Locked or IoError or Full or CantOpen;

    public override bool IsLockConflict(DbException exception) => (exception.ErrorCode & 0xFF) is Busy or Locked;
}
