using System.Net.Http.Headers;
using Idempotency.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>
/// The sample in memory, in Development (so the demo keys from appsettings.Development.json apply), with a ledger
/// file of its own in the temp folder that is deleted with the factory. One factory per test class.
/// </summary>
public class PaymentApiFactory : WebApplicationFactory<Program>
{
    public const string AliceKey = "sk_test_alice";
    public const string BobKey = "sk_test_bob";

    public PaymentApiFactory()
        : this(NewDatabasePath())
    {
    }

    /// <summary>A factory on a given ledger file, so that several instances of the sample can share one.</summary>
    protected PaymentApiFactory(string databasePath) => DatabasePath = databasePath;

    public string DatabasePath { get; }

    /// <summary>Arm it to make the next ledger write fail after its rows are written.</summary>
    public FailAfterLedgerWrite FailAfterLedgerWrite { get; } = new();

    public static string NewDatabasePath() => Path.Combine(Path.GetTempPath(), $"paymentapi-tests-{Guid.NewGuid():N}.db");

    public HttpClient CreateClient(string apiKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    /// <summary>Rows in one of the idempotency store's tables (in the ledger's database), read straight from the database.</summary>
    public async Task<long> CountIdempotencyRowsAsync(string table)
    {
        // A table name cannot be a parameter: only the store's own tables are counted.
        string[] tables = ["idempotency_records", "idempotency_streams", "idempotency_stream_responses"];
        var sql = "SELECT COUNT(*) AS \"Value\" FROM " + tables.Single(name => name == table);
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<LedgerDbContext>().Database.SqlQueryRaw<long>(sql).SingleAsync();
    }

    /// <summary>Rows in the ledger for this owner (and key, when given), read straight from the database.</summary>
    public async Task<long> CountPaymentsAsync(string owner, string? idempotencyKey = null)
    {
        // A context of the app's own (the app is started, and the schema created, on first use of Services): the
        // same count on whichever database the ledger is.
        await using var scope = Services.CreateAsyncScope();
        var payments = scope.ServiceProvider.GetRequiredService<LedgerDbContext>().Payments.Where(payment => payment.Owner == owner);
        return await (idempotencyKey is null ? payments : payments.Where(payment => payment.IdempotencyKey == idempotencyKey)).LongCountAsync();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ConnectionStrings:Ledger", $"Data Source={DatabasePath}");
        builder.ConfigureTestServices(services =>
        {
            // Composed with the app's own ledger options, which are built once (hence a singleton here too).
            services.ConfigureDbContext<LedgerDbContext>(options => options.AddInterceptors(FailAfterLedgerWrite), ServiceLifetime.Singleton);
            ConfigureTestServices(services);
        });
    }

    protected virtual void ConfigureTestServices(IServiceCollection services)
    {
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            TempDatabase.Delete(DatabasePath);
        }
    }
}

/// <summary>The sample with <see cref="ForgetfulIdempotencyStore"/> in place of the sample's store.</summary>
public sealed class ForgetfulStoreFactory : PaymentApiFactory
{
    public ForgetfulIdempotencyStore Store { get; } = new();

    protected override void ConfigureTestServices(IServiceCollection services) =>
        services.Replace(ServiceDescriptor.Singleton<IIdempotencyStore>(Store));
}

internal static class TempDatabase
{
    /// <summary>Deletes a SQLite file with its WAL and shared-memory files, after closing pooled connections to it.</summary>
    public static void Delete(string path)
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }
    }
}
