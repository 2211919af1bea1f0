namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>A row of <see cref="Schema.StreamResponses.Table"/>: one applied number's response kept in its stream's window.</summary>
internal sealed class StreamResponseRow
{
    public string StreamKey { get; set; } = "";

    public long Sequence { get; set; }

    public byte[] Fingerprint { get; set; } = [];

    public byte[] Response { get; set; } = [];
}
