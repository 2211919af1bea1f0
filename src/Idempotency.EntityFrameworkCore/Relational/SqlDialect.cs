using System.Data.Common;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// The one seam for what differs between the verified providers: the database clock, row locks, lock timeouts and
/// error classification. Everything else the store runs is the same SQL on both (see <see cref="StoreSql"/>). The
/// provider packages are never referenced: errors are classified by <see cref="DbException.SqlState"/> and
/// <see cref="System.Runtime.InteropServices.ExternalException.ErrorCode"/>.
/// </summary>
internal abstract class SqlDialect
{
    public const string PostgreSqlProviderName = "Npgsql.EntityFrameworkCore.PostgreSQL";
    public const string SqliteProviderName = "Microsoft.EntityFrameworkCore.Sqlite";

    /// <summary>A short name for messages.</summary>
    public abstract string Name { get; }

    /// <summary>An SQL expression: now, in whole milliseconds since the Unix epoch, by the database's clock.</summary>
    public abstract string Now { get; }

    /// <summary>Appended to a <c>SELECT</c> of one row to lock it until the transaction ends; empty where the transaction already excludes other writers.</summary>
    public abstract string RowLock { get; }

    /// <summary>Appended to a <c>SELECT</c> of rows to lock them, leaving out those another transaction holds; empty where the transaction already excludes other writers.</summary>
    public abstract string RowLockSkippingHeld { get; }

    /// <summary>
    /// A statement that bounds how long the current transaction's next statements wait for a row lock, or
    /// <see langword="null"/> where the database has none; <see cref="LockTimeoutReset"/> ends the bound.
    /// </summary>
    public abstract string? LockTimeoutStatement(TimeSpan timeout);

    /// <summary>
    /// A statement that gives the current transaction back the connection's own lock timeout, so the bound a begin set
    /// does not reach the handler's writes or the commit, or <see langword="null"/> where the database has none.
    /// </summary>
    public abstract string? LockTimeoutReset { get; }

    /// <summary>
    /// Whether a transaction's last statement and its <c>COMMIT</c> may go to the database as one command (one round
    /// trip): the provider then treats the transaction as ended, and a failed statement skips the <c>COMMIT</c>.
    /// </summary>
    public abstract bool CommitsWithLastStatement { get; }

    /// <summary>
    /// A statement run on a connection once it is open, before the store uses it, or <see langword="null"/>. Given the
    /// connection's command timeout, in milliseconds.
    /// </summary>
    public abstract string? ConnectionSetup(long commandTimeoutMilliseconds);

    /// <summary>Whether waiting heals the failure: the middleware answers it with 503 (or fails open).</summary>
    public abstract bool IsUnavailable(DbException exception);

    /// <summary>Whether a statement gave up waiting for another transaction's lock (or was chosen as a deadlock victim).</summary>
    public abstract bool IsLockConflict(DbException exception);

    /// <summary>The dialect of an EF Core provider, or <see langword="null"/> for a provider this store was not verified on.</summary>
    public static SqlDialect? For(string? providerName) => providerName switch
    {
        PostgreSqlProviderName => PostgreSqlDialect.Instance,
        SqliteProviderName => SqliteDialect.Instance,
        _ => null,
    };
}
