namespace PaymentApi.Accounts;

/// <summary>A row of the <c>transfers</c> table: an applied transfer, unique per account and number.</summary>
internal sealed class TransferEntity
{
    public required string Id { get; init; }

    public required string AccountId { get; init; }

    public required long Sequence { get; init; }

    /// <summary>The payee reference (column <c>to_ref</c>).</summary>
    public required string To { get; init; }

    public required long Amount { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
}
