using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.LoadTest.App;

/// <summary>The database of the database modes: a pooled <see cref="BenchDbContext"/> on SQLite or PostgreSQL.</summary>
public static class BenchDatabase
{
    /// <summary>Registers <see cref="BenchDbContext"/> (pooled, as a performance-minded application registers it) and a factory of pooled contexts.</summary>
    public static void AddTo(IServiceCollection services, BenchMode mode, string connectionString)
    {
        void Configure(DbContextOptionsBuilder options)
        {
            if (BenchModes.UsesPostgres(mode))
            {
                options.UseNpgsql(connectionString);
            }
            else
            {
                options.UseSqlite(connectionString).AddInterceptors(new SqliteBusyTimeout());
            }
        }

        services.AddDbContextPool<BenchDbContext>(Configure);
        services.AddPooledDbContextFactory<BenchDbContext>(Configure);
    }

    /// <summary>
    /// Creates the tables (each app has a database of its own) and, on SQLite, switches the file to write-ahead logging;
    /// returns the durability settings in force, for the app's log.
    /// </summary>
    public static async Task<string> CreateAsync(IServiceProvider services, BenchMode mode)
    {
        await using var scope = services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<BenchDbContext>();
        await context.Database.EnsureCreatedAsync();
        if (BenchModes.UsesPostgres(mode))
        {
            return $"database: {await ScalarAsync(context, "SELECT split_part(version(), ' on ', 1)")}, fsync={await ScalarAsync(context, "SHOW fsync")}, " +
                $"synchronous_commit={await ScalarAsync(context, "SHOW synchronous_commit")}";
        }

        // WAL lets readers run beside the one writer; the synchronous level stays SQLite's default (FULL in WAL mode
        // too, unless the build changed it: the line below says which).
        var journal = await ScalarAsync(context, "PRAGMA journal_mode=WAL");
        return $"database: SQLite {await ScalarAsync(context, "SELECT sqlite_version()")}, journal_mode={journal}, synchronous={await ScalarAsync(context, "PRAGMA synchronous")} (0 off, 1 normal, 2 full, 3 extra)";
    }

    private static async Task<string?> ScalarAsync(BenchDbContext context, string sql)
    {
        var connection = context.Database.GetDbConnection();
        await context.Database.OpenConnectionAsync();
        try
        {
            await using DbCommand command = connection.CreateCommand();
            command.CommandText = sql;
            return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }
        finally
        {
            await context.Database.CloseConnectionAsync();
        }
    }
}
