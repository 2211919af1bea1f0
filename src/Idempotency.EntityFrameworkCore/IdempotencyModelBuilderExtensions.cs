using Idempotency.EntityFrameworkCore.Relational;

namespace Microsoft.EntityFrameworkCore;

/// <summary>Maps the tables of the Entity Framework Core idempotency store into an application's model.</summary>
public static class IdempotencyModelBuilderExtensions
{
    /// <summary>
    /// Maps the idempotency store's tables (<c>idempotency_records</c>, <c>idempotency_streams</c>,
    /// <c>idempotency_stream_responses</c> and <c>idempotency_fencing</c>) so that the application's migrations, or
    /// <c>EnsureCreated</c>, create them. Call it from <c>OnModelCreating</c> of the context given to
    /// <c>AddEntityFrameworkCoreStore</c>.
    /// </summary>
    /// <param name="modelBuilder">The model builder of <c>OnModelCreating</c>.</param>
    /// <returns>The model builder.</returns>
    public static ModelBuilder MapIdempotencyTables(this ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<RecordRow>(record =>
        {
            record.ToTable(Schema.Records.Table);
            record.HasKey(r => r.Key);
            record.Property(r => r.Key).HasColumnName(Schema.Records.Key).HasMaxLength(Schema.KeyLength).IsUnicode(false).ValueGeneratedNever();
            record.Property(r => r.Fingerprint).HasColumnName(Schema.Records.Fingerprint).IsRequired();
            record.Property(r => r.State).HasColumnName(Schema.Records.State);
            record.Property(r => r.FencingToken).HasColumnName(Schema.Records.FencingToken);
            record.Property(r => r.ExpiresAt).HasColumnName(Schema.Records.ExpiresAt);
            record.Property(r => r.Response).HasColumnName(Schema.Records.Response);
            record.HasIndex(r => r.ExpiresAt).HasDatabaseName(Schema.Records.ExpiresAtIndex);
        });

        modelBuilder.Entity<StreamRow>(stream =>
        {
            stream.ToTable(Schema.Streams.Table);
            stream.HasKey(s => s.StreamKey);
            stream.Property(s => s.StreamKey).HasColumnName(Schema.Streams.Key).HasMaxLength(Schema.KeyLength).IsUnicode(false).ValueGeneratedNever();
            stream.Property(s => s.Epoch).HasColumnName(Schema.Streams.Epoch);
            stream.Property(s => s.LastSequence).HasColumnName(Schema.Streams.LastSequence);
            stream.Property(s => s.RetainUntil).HasColumnName(Schema.Streams.RetainUntil);
            stream.Property(s => s.SlotToken).HasColumnName(Schema.Streams.SlotToken);
            stream.Property(s => s.SlotEpoch).HasColumnName(Schema.Streams.SlotEpoch);
            stream.Property(s => s.SlotSequence).HasColumnName(Schema.Streams.SlotSequence);
            stream.Property(s => s.SlotFingerprint).HasColumnName(Schema.Streams.SlotFingerprint);
            stream.Property(s => s.SlotExpiresAt).HasColumnName(Schema.Streams.SlotExpiresAt);
            stream.Property(s => s.ExpiresAt).HasColumnName(Schema.Streams.ExpiresAt);
            stream.HasIndex(s => s.ExpiresAt).HasDatabaseName(Schema.Streams.ExpiresAtIndex);
        });

        modelBuilder.Entity<StreamResponseRow>(response =>
        {
            response.ToTable(Schema.StreamResponses.Table);
            response.HasKey(r => new { r.StreamKey, r.Sequence });
            response.Property(r => r.StreamKey).HasColumnName(Schema.StreamResponses.StreamKey).HasMaxLength(Schema.KeyLength).IsUnicode(false);
            response.Property(r => r.Sequence).HasColumnName(Schema.StreamResponses.Sequence).ValueGeneratedNever();
            response.Property(r => r.Fingerprint).HasColumnName(Schema.StreamResponses.Fingerprint).IsRequired();
            response.Property(r => r.Response).HasColumnName(Schema.StreamResponses.Response).IsRequired();
        });

        modelBuilder.Entity<FencingRow>(fencing =>
        {
            fencing.ToTable(Schema.Fencing.Table);
            fencing.HasKey(f => f.Id);
            fencing.Property(f => f.Id).HasColumnName(Schema.Fencing.Id).ValueGeneratedNever();
            fencing.Property(f => f.NextToken).HasColumnName(Schema.Fencing.NextToken);
        });

        return modelBuilder;
    }
}
