using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>Which database <c>ConnectionStrings:Ledger</c> selects, and what a setting that names none says.</summary>
public sealed class LedgerDatabaseTests
{
    [Fact]
    public void Without_a_setting_the_ledger_is_App_Data_ledger_db_under_the_content_root()
    {
        var root = Path.Combine(Path.GetTempPath(), "paymentapi-root");

        var connectionString = LedgerDatabase.ConnectionString(new ConfigurationBuilder().Build(), new Environment(root));

        using var context = TestLedgers.CreateContext(connectionString);
        Assert.True(context.Database.IsSqlite());
        Assert.Equal($"Data Source={Path.Combine(root, "App_Data", "ledger.db")}", connectionString);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=5432;Database=paymentapi;Username=app", true)]
    [InlineData("host=db.internal;Database=paymentapi", true)]
    [InlineData("Data Source=/var/lib/paymentapi/ledger.db", false)]
    public void A_Host_connection_string_is_PostgreSQL_and_any_other_is_SQLite(string setting, bool postgreSql)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("ConnectionStrings:Ledger", setting)]).Build();

        using var context = TestLedgers.CreateContext(LedgerDatabase.ConnectionString(configuration, new Environment("/app")));

        Assert.Equal(postgreSql, context.Database.IsNpgsql());
        Assert.Equal(!postgreSql, context.Database.IsSqlite());
    }

    [Theory]
    [InlineData("Server=sql.internal;Initial Catalog=paymentapi")]
    [InlineData("not a connection string")]
    public void A_setting_that_is_neither_fails_with_a_message_that_names_it(string setting)
    {
        var exception = Assert.Throws<InvalidOperationException>(() => TestLedgers.CreateContext(setting));

        Assert.StartsWith("ConnectionStrings:Ledger is neither a PostgreSQL connection string", exception.Message, StringComparison.Ordinal);
    }

    private sealed class Environment(string contentRootPath) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = Environments.Development;

        public string ApplicationName { get; set; } = "PaymentApi";

        public string ContentRootPath { get; set; } = contentRootPath;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
