namespace PaymentApi.Tests;

/// <summary><see cref="LedgerInOpenTransactionTests"/> on a SQLite file of the test's own.</summary>
public sealed class SqliteLedgerInOpenTransactionTests : LedgerInOpenTransactionTests
{
    private readonly string _path = PaymentApiFactory.NewDatabasePath();

    protected override Task<string> CreateDatabaseAsync() => Task.FromResult($"Data Source={_path}");

    protected override Task DeleteDatabaseAsync()
    {
        TempDatabase.Delete(_path);
        return Task.CompletedTask;
    }
}
