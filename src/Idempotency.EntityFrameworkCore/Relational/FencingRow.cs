namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>The one row of <see cref="Schema.Fencing.Table"/>: the highest fencing token any store instance has reserved.</summary>
internal sealed class FencingRow
{
    public int Id { get; set; }

    public long NextToken { get; set; }
}
