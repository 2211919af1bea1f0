namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>A row of <see cref="Schema.Records.Table"/>, mapped only so that migrations create the table; the store reads and writes it with SQL.</summary>
internal sealed class RecordRow
{
    public string Key { get; set; } = "";

    public byte[] Fingerprint { get; set; } = [];

    public short State { get; set; }

    public long FencingToken { get; set; }

    /// <summary>Milliseconds since the Unix epoch by the database's clock.</summary>
    public long ExpiresAt { get; set; }

    /// <summary>The completed response in the <see cref="Storage.StoredResponseSerializer"/> format; null while in flight.</summary>
    public byte[]? Response { get; set; }
}
