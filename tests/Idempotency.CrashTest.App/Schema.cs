using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Idempotency.CrashTest.App;

/// <summary>Creates the app's tables on start, once, however many instances start at the same moment.</summary>
public static class Schema
{
    // Any fixed number: instances of this app take this session lock while one of them creates the tables.
    private const long LockId = 0x1de_e0_7e57;

    public static async Task EnsureCreatedAsync(IServiceProvider services, string connectionString)
    {
        // EnsureCreated checks for tables and then creates them, so two instances starting together would both try:
        // one at a time, under an advisory lock held on a connection of its own. Unpooled, so that closing it really
        // ends the session and its lock (a pooled connection would keep both).
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({LockId})", connection))
        {
            await take.ExecuteNonQueryAsync();
        }

        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<CrashDbContext>().Database.EnsureCreatedAsync();

        // Closing the connection releases the lock.
    }
}
