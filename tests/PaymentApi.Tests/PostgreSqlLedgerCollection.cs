using Idempotency.Testing.PostgreSql;

namespace PaymentApi.Tests;

/// <summary>
/// The classes that run the ledger on PostgreSQL share one server (none stops it); each test takes a fresh database
/// from it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgreSqlLedgerCollection : ICollectionFixture<PostgreSqlServerFixture>
{
    public const string Name = "PostgreSQL ledger";
}
