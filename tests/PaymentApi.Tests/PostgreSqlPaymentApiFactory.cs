using Microsoft.AspNetCore.Hosting;

namespace PaymentApi.Tests;

/// <summary>
/// The sample with <c>ConnectionStrings:Ledger</c> set to a PostgreSQL (<c>Host=</c>) connection string, as an operator
/// runs it. Factories given the same database are instances of one service; the idempotency records are in that database too.
/// </summary>
public sealed class PostgreSqlPaymentApiFactory(string ledgerConnectionString)
    : PaymentApiFactory(NewDatabasePath()) // A SQLite path that is never created: the setting below replaces it.
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("ConnectionStrings:Ledger", ledgerConnectionString);
    }
}
