using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>A SQLite database in a temporary file, in WAL mode (as an application serving concurrent requests runs it).</summary>
public sealed class SqliteDatabase : StoreDatabase
{
    private readonly string _directory = Directory.CreateTempSubdirectory("idempotency-ef-").FullName;

    public string ConnectionString => $"Data Source={Path.Combine(_directory, "store.db")}";

    public override string ProviderName => "Microsoft.EntityFrameworkCore.Sqlite";

    public override void Configure(DbContextOptionsBuilder options) => options.UseSqlite(ConnectionString);

    protected override async Task CreateDatabaseAsync()
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL";
        await command.ExecuteNonQueryAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}

// One collection per test class: they wait on the real clock, so they run side by side, each on its own database.
[CollectionDefinition(Name)]
public sealed class SqliteKeysCollection : ICollectionFixture<SqliteDatabase>
{
    public const string Name = "SQLite keys";
}

[CollectionDefinition(Name)]
public sealed class SqliteStreamsCollection : ICollectionFixture<SqliteDatabase>
{
    public const string Name = "SQLite streams";
}

[CollectionDefinition(Name)]
public sealed class SqlitePropertiesCollection : ICollectionFixture<SqliteDatabase>
{
    public const string Name = "SQLite properties";
}

[CollectionDefinition(Name)]
public sealed class SqliteCollection : ICollectionFixture<SqliteDatabase>
{
    public const string Name = "SQLite";
}
