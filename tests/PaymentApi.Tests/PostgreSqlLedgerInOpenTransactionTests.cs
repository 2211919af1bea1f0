using Idempotency.Testing.PostgreSql;

namespace PaymentApi.Tests;

/// <summary><see cref="LedgerInOpenTransactionTests"/> on a PostgreSQL database of the test's own.</summary>
[Collection(PostgreSqlLedgerCollection.Name)]
public sealed class PostgreSqlLedgerInOpenTransactionTests(PostgreSqlServerFixture server) : LedgerInOpenTransactionTests
{
    protected override Task<string> CreateDatabaseAsync() => server.CreateDatabaseAsync();

    // The server and its databases go with the fixture.
    protected override Task DeleteDatabaseAsync() => Task.CompletedTask;
}
