namespace Idempotency.LoadTest.App;

/// <summary>The row the database-writing handler inserts for each order: its header, as a create endpoint stores it.</summary>
public sealed class OrderRow
{
    public required string Id { get; init; }

    public required string CustomerId { get; init; }

    public required string Status { get; init; }

    public required decimal Total { get; init; }

    public required int LineCount { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
}
