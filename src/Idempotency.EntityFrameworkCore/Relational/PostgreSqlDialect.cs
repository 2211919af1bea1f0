using System.Data.Common;
using System.Globalization;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>PostgreSQL (Npgsql), read-committed transactions and row locks.</summary>
internal sealed class PostgreSqlDialect : SqlDialect
{
    public static readonly PostgreSqlDialect Instance = new();

    private PostgreSqlDialect()
    {
    }

    public override string Name => "PostgreSQL";

    // clock_timestamp(), not now(): now() is the start of the transaction, and a request transaction may run for a
    // whole handler before it completes the record.
    public override string Now => "(extract(epoch from clock_timestamp()) * 1000)::bigint";

    public override string RowLock => " FOR UPDATE";

    public override string RowLockSkippingHeld => " FOR UPDATE SKIP LOCKED";

    // 0 would mean "wait forever": the shortest wait PostgreSQL takes is 1 ms.
    public override string? LockTimeoutStatement(TimeSpan timeout)
        => string.Create(CultureInfo.InvariantCulture, $"SET LOCAL lock_timeout = '{Math.Max(1, (long)Math.Ceiling(timeout.TotalMilliseconds))}ms'");

    // DEFAULT is the value the connection started with (server, role, database or connection string settings).
    public override string? LockTimeoutReset => "SET LOCAL lock_timeout = DEFAULT";

    // Npgsql reads the transaction's end from the server's ReadyForQuery, and the extended protocol skips every
    // statement after a failed one up to the batch's end, so an error before the COMMIT leaves it unsent.
    public override bool CommitsWithLastStatement => true;

    public override string? ConnectionSetup(long commandTimeoutMilliseconds) => null;

    public override bool IsUnavailable(DbException exception)
    {
        if (exception.IsTransient)
        {
            return true;
        }

        var state = exception.SqlState;
        if (state is null)
        {
            // Npgsql reports a broken or refused connection without a SQLSTATE.
            return exception.InnerException is IOException or TimeoutException or System.Net.Sockets.SocketException;
        }

        return state.StartsWith("08", StringComparison.Ordinal) // connection exception
            || state.StartsWith("53", StringComparison.Ordinal) // insufficient resources (too many connections, disk full)
            || state.StartsWith("57P", StringComparison.Ordinal) // shutting down, cannot connect now
            || state is "57014" // statement timeout
                or "25006" // read-only transaction: a standby during a failover
                or "55P03" or "40001" or "40P01";
    }

    public override bool IsLockConflict(DbException exception) => exception.SqlState is "55P03" or "40001" or "40P01";
}
