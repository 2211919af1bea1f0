namespace PaymentApi.Accounts;

/// <summary>
/// A row of the <c>declined_transfers</c> table: a numbered request declined for insufficient funds, with the balance
/// it was declined at. It uses up its number as a transfer does, so a number is in this table or in
/// <c>transfers</c>, never both.
/// </summary>
internal sealed class DeclinedTransferEntity
{
    public required string AccountId { get; init; }

    public required long Sequence { get; init; }

    /// <summary>The payee reference (column <c>to_ref</c>).</summary>
    public required string To { get; init; }

    public required long Amount { get; init; }

    public required long Balance { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
}
