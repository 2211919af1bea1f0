using Microsoft.Data.Sqlite;

namespace PaymentApi.Storage;

/// <summary>
/// The SQLite file the payments and the accounts share: how to connect to it, and where it lives. Each call opens its
/// own connection (Microsoft.Data.Sqlite pools them), so one instance serves every request.
/// </summary>
internal sealed class LedgerDatabase
{
    private readonly string _connectionString;

    public LedgerDatabase(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        // Microsoft.Data.Sqlite retries a busy or locked database until the command timeout: this is the busy
        // timeout. A writer (from this or another instance) holds the lock for a few statements; 5 s covers any queue
        // of them and still fails fast enough for the client to retry.
        _connectionString = new SqliteConnectionStringBuilder(connectionString) { DefaultTimeout = 5 }.ToString();
    }

    /// <summary>Creates the folder of the database file when it is missing (nothing for an in-memory database).</summary>
    public void EnsureFolder()
    {
        var settings = new SqliteConnectionStringBuilder(_connectionString);
        if (settings.Mode != SqliteOpenMode.Memory && settings.DataSource is not ("" or ":memory:"))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.DataSource))!);
        }
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
