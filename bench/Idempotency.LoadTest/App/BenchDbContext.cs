using Microsoft.EntityFrameworkCore;

namespace Idempotency.LoadTest.App;

/// <summary>
/// The bench app's database: the orders the handler writes, and the idempotency store's tables. Every database mode
/// uses it, pooled, so that the handler's write costs the same with and without idempotency in front of it; the
/// baseline's database has the store's tables too (empty), so both databases have the same schema.
/// </summary>
public sealed class BenchDbContext : DbContext
{
    private static readonly bool AutoSavepoints = Environment.GetEnvironmentVariable("BENCH_AUTO_SAVEPOINTS") != "false";

    public BenchDbContext(DbContextOptions<BenchDbContext> options)
        : base(options)
    {
        Database.AutoSavepointsEnabled = AutoSavepoints;
    }

    public DbSet<OrderRow> Orders => Set<OrderRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<OrderRow>(order =>
        {
            order.ToTable("orders");
            order.HasKey(o => o.Id);
            order.Property(o => o.Id).HasMaxLength(40);
            order.Property(o => o.CustomerId).HasMaxLength(40);
            order.Property(o => o.Status).HasMaxLength(16);
            order.Property(o => o.Total).HasPrecision(18, 2);
        });
        modelBuilder.MapIdempotencyTables();
    }
}
