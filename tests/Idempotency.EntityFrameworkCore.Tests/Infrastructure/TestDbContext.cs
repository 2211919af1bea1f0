using Microsoft.EntityFrameworkCore;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>An application's context: the store's tables and one business table the handlers of the transaction tests write.</summary>
public sealed class TestDbContext(DbContextOptions<TestDbContext> options) : DbContext(options)
{
    public DbSet<LedgerEntry> Ledger => Set<LedgerEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.MapIdempotencyTables();
        modelBuilder.Entity<LedgerEntry>(entry =>
        {
            entry.ToTable("ledger");
            entry.HasKey(e => e.Id);
            entry.Property(e => e.Id).HasMaxLength(100);
        });
    }
}

public sealed class LedgerEntry
{
    public string Id { get; set; } = "";

    public long Amount { get; set; }
}

/// <summary>A context whose model forgot <c>MapIdempotencyTables</c>.</summary>
public sealed class UnmappedDbContext(DbContextOptions<UnmappedDbContext> options) : DbContext(options)
{
    public DbSet<LedgerEntry> Ledger => Set<LedgerEntry>();
}
