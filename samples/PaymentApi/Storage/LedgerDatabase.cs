using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace PaymentApi.Storage;

/// <summary>
/// Where the ledger lives, chosen by <c>ConnectionStrings:Ledger</c>: not set, the SQLite file
/// <c>App_Data/ledger.db</c> under the content root; a <c>Host=</c> connection string, PostgreSQL (Npgsql); any other,
/// a SQLite connection string.
/// </summary>
internal static class LedgerDatabase
{
    /// <summary>The name under <c>ConnectionStrings</c>.</summary>
    public const string ConnectionStringName = "Ledger";

    // Microsoft.Data.Sqlite retries a busy or locked database until the command timeout: this is the busy timeout.
    // A writer (from this or another instance) holds the lock for a few statements; 5 s covers any queue of them and
    // still fails fast enough for the client to retry.
    private const int SqliteBusyTimeoutSeconds = 5;

    // SQLITE_CONSTRAINT_UNIQUE: the extended result code of a UNIQUE index or constraint refusing a row.
    private const int SqliteConstraintUnique = 2067;

    /// <summary>Adds <see cref="LedgerDbContext"/>, one per request, on the database the configuration names.</summary>
    public static IServiceCollection AddLedgerDatabase(this IServiceCollection services)
    {
        // The options are built once: the connection string is read and checked once, not per request.
        services.AddDbContext<LedgerDbContext>(
            (provider, options) => options.UseLedger(ConnectionString(provider.GetRequiredService<IConfiguration>(), provider.GetRequiredService<IHostEnvironment>())),
            contextLifetime: ServiceLifetime.Scoped,
            optionsLifetime: ServiceLifetime.Singleton);
        return services;
    }

    /// <summary>Creates what is missing of the ledger's schema (see <see cref="LedgerSchema"/>); call once on start.</summary>
    public static async Task InitializeLedgerAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        await LedgerSchema.CreateAsync(scope.ServiceProvider.GetRequiredService<LedgerDbContext>(), cancellationToken);
    }

    /// <summary><c>ConnectionStrings:Ledger</c>, or the default SQLite file when it is not set.</summary>
    public static string ConnectionString(IConfiguration configuration, IHostEnvironment environment) =>
        configuration.GetConnectionString(ConnectionStringName) is { } configured && !string.IsNullOrWhiteSpace(configured)
            ? configured
            : DefaultConnectionString(environment.ContentRootPath);

    /// <summary>The default ledger: <c>App_Data/ledger.db</c> under the app's content root.</summary>
    public static string DefaultConnectionString(string contentRootPath) =>
        new SqliteConnectionStringBuilder { DataSource = Path.Combine(contentRootPath, "App_Data", "ledger.db") }.ToString();

    /// <summary>Points <paramref name="options"/> at the ledger: PostgreSQL for a <c>Host=</c> connection string, SQLite otherwise.</summary>
    public static DbContextOptionsBuilder UseLedger(this DbContextOptionsBuilder options, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return IsPostgreSql(connectionString)
            ? options.UseNpgsql(connectionString)
            : options.UseSqlite(SqliteConnectionString(connectionString));
    }

    /// <summary>Whether saving failed on a unique index: a row with these values is there already.</summary>
    public static bool IsUniqueViolation(DbUpdateException exception) => exception.InnerException
        is SqliteException { SqliteExtendedErrorCode: SqliteConstraintUnique }
        or PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    private static bool IsPostgreSql(string connectionString)
    {
        var settings = new DbConnectionStringBuilder();
        try
        {
            settings.ConnectionString = connectionString;
        }
        catch (ArgumentException exception)
        {
            throw Misconfigured(exception);
        }

        return settings.ContainsKey("Host");
    }

    private static string SqliteConnectionString(string connectionString)
    {
        try
        {
            return new SqliteConnectionStringBuilder(connectionString) { DefaultTimeout = SqliteBusyTimeoutSeconds }.ToString();
        }
        catch (ArgumentException exception)
        {
            throw Misconfigured(exception);
        }
    }

    private static InvalidOperationException Misconfigured(ArgumentException exception) => new(
        $"ConnectionStrings:{ConnectionStringName} is neither a PostgreSQL connection string (Host=...;Database=...) nor a SQLite one (Data Source=<file>): {exception.Message}",
        exception);
}
