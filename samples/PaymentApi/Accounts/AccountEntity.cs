namespace PaymentApi.Accounts;

/// <summary>A row of the <c>accounts</c> table: who holds the account, what it holds, and the last number it processed.</summary>
internal sealed class AccountEntity
{
    public required string Id { get; init; }

    public required string Owner { get; init; }

    /// <summary>In minor units; never negative (a CHECK constraint).</summary>
    public required long Balance { get; init; }

    /// <summary>The number of the last transfer request processed, applied or declined; 0 for none.</summary>
    public required long LastSequence { get; init; }
}
