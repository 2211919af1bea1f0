using Microsoft.EntityFrameworkCore;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>Ledger contexts outside the web host, on the database a connection string names, as the app makes them.</summary>
internal static class TestLedgers
{
    public static LedgerDbContext CreateContext(string connectionString)
    {
        var options = new DbContextOptionsBuilder<LedgerDbContext>();
        options.UseLedger(connectionString);
        return new LedgerDbContext(options.Options);
    }
}
