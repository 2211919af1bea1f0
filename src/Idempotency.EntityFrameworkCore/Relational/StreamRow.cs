namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>A row of <see cref="Schema.Streams.Table"/>: a stream's applied state and its one in-flight slot (see readme.md).</summary>
internal sealed class StreamRow
{
    public string StreamKey { get; set; } = "";

    public long Epoch { get; set; }

    public long LastSequence { get; set; }

    /// <summary>When the retention set by the last complete ends (database clock, ms); 0 when none was set.</summary>
    public long RetainUntil { get; set; }

    /// <summary>The slot's fencing token; 0 when the slot is free.</summary>
    public long SlotToken { get; set; }

    public long SlotEpoch { get; set; }

    public long SlotSequence { get; set; }

    public byte[]? SlotFingerprint { get; set; }

    public long SlotExpiresAt { get; set; }

    /// <summary>The later of <see cref="RetainUntil"/> and a held slot's lease: the stream is missing once it passed.</summary>
    public long ExpiresAt { get; set; }
}
