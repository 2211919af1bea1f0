using Idempotency.Testing.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>A fresh database on the PostgreSQL server of <see cref="PostgreSqlServerFixture"/>, shared by the PostgreSQL tests.</summary>
public sealed class PostgreSqlDatabase(IMessageSink diagnostics) : StoreDatabase
{
    private readonly PostgreSqlServerFixture _server = new(diagnostics);

    public string ConnectionString { get; private set; } = "";

    public PostgreSqlServerFixture Server => _server;

    public override string ProviderName => "Npgsql.EntityFrameworkCore.PostgreSQL";

    public override void Configure(DbContextOptionsBuilder options) => options.UseNpgsql(ConnectionString);

    protected override async Task CreateDatabaseAsync()
    {
        await _server.InitializeAsync();
        ConnectionString = await _server.CreateDatabaseAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlDatabase>
{
    public const string Name = "PostgreSQL";
}
