namespace PaymentApi.Payments;

/// <summary>
/// A row of the <c>payments</c> table. Beside these columns the table has an insertion counter (SQLite's <c>rowid</c>,
/// PostgreSQL's identity column <c>position</c>), mapped as the shadow property <see cref="LedgerPosition"/>: it
/// orders payments made in the same tick.
/// </summary>
internal sealed class PaymentEntity
{
    public const string LedgerPosition = "Position";

    public required string Id { get; init; }

    public required string Owner { get; init; }

    /// <summary>The key the middleware read, unquoted; <see langword="null"/> for a request without one (never deduplicated).</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>In the currency's minor unit.</summary>
    public required long Amount { get; init; }

    public required string Currency { get; init; }

    public string? Description { get; init; }

    public required string Status { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
}
