using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using PaymentApi.Accounts;
using PaymentApi.Payments;

namespace PaymentApi.Storage;

/// <summary>
/// The ledger database (payments, accounts, transfers) as EF Core sees it; SQLite or PostgreSQL as
/// <see cref="LedgerDatabase"/> chose. Registered scoped: one per request, so every write a request makes goes
/// through one connection and commits in whatever transaction is open on it.
/// </summary>
/// <remarks>
/// The tables are created by <see cref="LedgerSchema"/> (per-provider DDL), not from this model; the model maps them
/// column by column and declares the same keys and indexes, so the two are read side by side.
/// </remarks>
internal sealed class LedgerDbContext(DbContextOptions<LedgerDbContext> options) : DbContext(options)
{
    public DbSet<PaymentEntity> Payments => Set<PaymentEntity>();

    public DbSet<AccountEntity> Accounts => Set<AccountEntity>();

    public DbSet<TransferEntity> Transfers => Set<TransferEntity>();

    public DbSet<DeclinedTransferEntity> DeclinedTransfers => Set<DeclinedTransferEntity>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var sqlite = Database.IsSqlite();
        MapPayments(modelBuilder.Entity<PaymentEntity>(), sqlite);
        MapAccounts(modelBuilder.Entity<AccountEntity>());
        MapTransfers(modelBuilder.Entity<TransferEntity>(), sqlite);
        MapDeclinedTransfers(modelBuilder.Entity<DeclinedTransferEntity>(), sqlite);

        // The idempotency store's records and streams live beside the ledger, so in transactional mode a record
        // commits in the same transaction as the payment or transfer it answers for.
        modelBuilder.MapIdempotencyTables();
    }

    private static void MapPayments(EntityTypeBuilder<PaymentEntity> payment, bool sqlite)
    {
        payment.ToTable("payments");
        payment.HasKey(p => p.Id);
        payment.Property(p => p.Id).HasColumnName("id");
        payment.Property(p => p.Owner).HasColumnName("owner");
        payment.Property(p => p.IdempotencyKey).HasColumnName("idempotency_key");
        payment.Property(p => p.Amount).HasColumnName("amount");
        payment.Property(p => p.Currency).HasColumnName("currency");
        payment.Property(p => p.Description).HasColumnName("description");
        payment.Property(p => p.Status).HasColumnName("status");
        MapCreatedAt(payment.Property(p => p.CreatedAt), sqlite);

        // The database numbers the rows as they are inserted; EF Core neither writes nor reads back the number, and
        // only orders by it.
        var position = payment.Property<long>(PaymentEntity.LedgerPosition).HasColumnName(sqlite ? "rowid" : "position").ValueGeneratedNever();
        position.Metadata.SetBeforeSaveBehavior(PropertySaveBehavior.Ignore);
        position.Metadata.SetAfterSaveBehavior(PropertySaveBehavior.Ignore);

        // Defence in depth: the second guard against a double charge. If the idempotency record is lost (expired,
        // evicted from Redis), the retry's insert collides here instead of charging again. NULL keys never collide
        // (on either provider), so requests without a key are not deduplicated by the ledger.
        payment.HasIndex(p => new { p.Owner, p.IdempotencyKey }).IsUnique().HasDatabaseName("ux_payments_owner_idempotency_key");
        payment.HasIndex(p => new { p.Owner, p.CreatedAt }).HasDatabaseName("ix_payments_owner_created_at");
    }

    private static void MapAccounts(EntityTypeBuilder<AccountEntity> account)
    {
        account.ToTable("accounts", table => table.HasCheckConstraint("ck_accounts_balance", "balance >= 0"));
        account.HasKey(a => a.Id);
        account.Property(a => a.Id).HasColumnName("id");
        account.Property(a => a.Owner).HasColumnName("owner");
        account.Property(a => a.Balance).HasColumnName("balance");
        account.Property(a => a.LastSequence).HasColumnName("last_sequence");
    }

    private static void MapTransfers(EntityTypeBuilder<TransferEntity> transfer, bool sqlite)
    {
        transfer.ToTable("transfers");
        transfer.HasKey(t => t.Id);
        transfer.Property(t => t.Id).HasColumnName("id");
        transfer.Property(t => t.AccountId).HasColumnName("account_id");
        transfer.Property(t => t.Sequence).HasColumnName("sequence");
        transfer.Property(t => t.To).HasColumnName("to_ref");
        transfer.Property(t => t.Amount).HasColumnName("amount");
        MapCreatedAt(transfer.Property(t => t.CreatedAt), sqlite);
        transfer.HasOne<AccountEntity>().WithMany().HasForeignKey(t => t.AccountId);

        // The last word on "exactly once": even a bug in the ledger's checks could not store two transfers under one number.
        transfer.HasIndex(t => new { t.AccountId, t.Sequence }).IsUnique();
    }

    private static void MapDeclinedTransfers(EntityTypeBuilder<DeclinedTransferEntity> declined, bool sqlite)
    {
        declined.ToTable("declined_transfers");
        declined.HasKey(d => new { d.AccountId, d.Sequence });
        declined.Property(d => d.AccountId).HasColumnName("account_id");
        declined.Property(d => d.Sequence).HasColumnName("sequence");
        declined.Property(d => d.To).HasColumnName("to_ref");
        declined.Property(d => d.Amount).HasColumnName("amount");
        declined.Property(d => d.Balance).HasColumnName("balance");
        MapCreatedAt(declined.Property(d => d.CreatedAt), sqlite);
        declined.HasOne<AccountEntity>().WithMany().HasForeignKey(d => d.AccountId);
    }

    private static void MapCreatedAt(PropertyBuilder<DateTimeOffset> createdAt, bool sqlite)
    {
        createdAt.HasColumnName("created_at");
        if (sqlite)
        {
            createdAt.HasConversion(LedgerTimestamp.SqliteConverter);
        }
    }
}
