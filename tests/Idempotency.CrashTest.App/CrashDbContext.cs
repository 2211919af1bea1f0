using Microsoft.EntityFrameworkCore;

namespace Idempotency.CrashTest.App;

/// <summary>The app's database: the orders table, and with the EF Core store the idempotency tables beside it.</summary>
public sealed class CrashDbContext(DbContextOptions<CrashDbContext> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Order>(order =>
        {
            order.ToTable("orders");
            order.HasKey(o => o.Sequence);
            order.Property(o => o.Sequence).HasColumnName("sequence").UseIdentityAlwaysColumn();
            order.Property(o => o.Key).HasColumnName("key");
            order.Property(o => o.Id).HasColumnName("id");
            order.Property(o => o.Payload).HasColumnName("payload");
            order.Property(o => o.Instance).HasColumnName("instance");
            order.Property(o => o.RequestId).HasColumnName("request_id");
            order.Property(o => o.Response).HasColumnName("response");
        });
        modelBuilder.MapIdempotencyTables();
    }
}
