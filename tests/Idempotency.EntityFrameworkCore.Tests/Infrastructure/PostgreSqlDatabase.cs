using Idempotency.Testing.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>
/// A fresh database, for the tests of one collection, on the PostgreSQL server that every collection of this assembly
/// shares (<see cref="SharedPostgreSqlServer"/>): the collections run in parallel, each on a database of its own.
/// </summary>
public sealed class PostgreSqlDatabase(IMessageSink diagnostics) : StoreDatabase
{
    private bool _acquired;

    public string ConnectionString { get; private set; } = "";

    public override string ProviderName => "Npgsql.EntityFrameworkCore.PostgreSQL";

    public override void Configure(DbContextOptionsBuilder options) => options.UseNpgsql(ConnectionString);

    protected override async Task CreateDatabaseAsync()
    {
        var server = await SharedPostgreSqlServer.AcquireAsync(diagnostics);
        _acquired = true;
        ConnectionString = await server.CreateDatabaseAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_acquired)
        {
            await SharedPostgreSqlServer.ReleaseAsync();
        }
    }
}

// One collection per test class: they wait on the real clock, so they run side by side, each on its own database.
[CollectionDefinition(Name)]
public sealed class PostgreSqlKeysCollection : ICollectionFixture<PostgreSqlDatabase>
{
    public const string Name = "PostgreSQL keys";
}

[CollectionDefinition(Name)]
public sealed class PostgreSqlStreamsCollection : ICollectionFixture<PostgreSqlDatabase>
{
    public const string Name = "PostgreSQL streams";
}

[CollectionDefinition(Name)]
public sealed class PostgreSqlPropertiesCollection : ICollectionFixture<PostgreSqlDatabase>
{
    public const string Name = "PostgreSQL properties";
}

[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlDatabase>
{
    public const string Name = "PostgreSQL";
}
