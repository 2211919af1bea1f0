using Microsoft.EntityFrameworkCore;

namespace Idempotency.LoadTest.App;

/// <summary>
/// The bench app's database: the orders the handler writes. Every database mode uses it, pooled, so that the handler's
/// write costs the same with and without idempotency in front of it.
/// </summary>
public sealed class BenchDbContext(DbContextOptions<BenchDbContext> options) : DbContext(options)
{
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
    }
}
