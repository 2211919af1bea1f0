using Idempotency.EntityFrameworkCore.Relational;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Idempotency.EntityFrameworkCore.Tests.Storage;

/// <summary>A database the store cannot use now is unavailability (503), not a server error.</summary>
public sealed class StoreUnavailableTests
{
    private static readonly byte[] s_fingerprint = "fp"u8.ToArray();

    private static EntityFrameworkCoreIdempotencyStore Store(Action<DbContextOptionsBuilder> provider)
    {
        var services = new ServiceCollection().AddDbContext<TestDbContext>(provider).BuildServiceProvider();
        return new EntityFrameworkCoreIdempotencyStore(new StoreContextSource<TestDbContext>(services), NullLogger<EntityFrameworkCoreIdempotencyStore>.Instance);
    }

    [Fact]
    public async Task A_PostgreSQL_server_that_refuses_connections_is_unavailable()
    {
        // Port 1 on the loopback: nothing listens there.
        var store = Store(o => o.UseNpgsql("Host=127.0.0.1;Port=1;Username=postgres;Timeout=2"));
        await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(async () => await store.TryBeginAsync("key", s_fingerprint, TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task A_SQLite_database_locked_by_another_writer_past_the_busy_timeout_is_unavailable()
    {
        var directory = Directory.CreateTempSubdirectory("idempotency-ef-busy-").FullName;
        var connectionString = $"Data Source={Path.Combine(directory, "busy.db")}";
        try
        {
            var options = new DbContextOptionsBuilder<TestDbContext>().UseSqlite(connectionString).Options;
            await using (var context = new TestDbContext(options))
            {
                await context.Database.EnsureCreatedAsync();
            }

            var store = Store(o => o.UseSqlite(connectionString + ";Default Timeout=1"));
            var token = await store.TryBeginAsync("warm-up", s_fingerprint, TimeSpan.FromMinutes(1), CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.Acquired, token.Status);

            await using var writer = new SqliteConnection(connectionString);
            await writer.OpenAsync();
            await using var transaction = writer.BeginTransaction(deferred: false);

            await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(async () => await store.TryBeginAsync("key", s_fingerprint, TimeSpan.FromMinutes(1), CancellationToken.None));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
