namespace PaymentApi.Accounts;

/// <summary>What <see cref="AccountLedger.TransferAsync"/> did with a numbered transfer request.</summary>
internal enum TransferStatus
{
    /// <summary>The transfer is applied: just now, or earlier under the same number with the same details.</summary>
    Applied,

    /// <summary>The amount exceeds the balance. The number is used up by this decline; nothing moved.</summary>
    InsufficientFunds,

    /// <summary>The number was already used for a transfer with other details; nothing changed.</summary>
    SequenceReused,

    /// <summary>The number is beyond the next one: earlier numbers are missing; nothing changed.</summary>
    SequenceGap,

    /// <summary>The account belongs to another caller; nothing changed.</summary>
    AccountNotFound,
}

/// <summary>The outcome of a transfer request, with what the answer to the client needs.</summary>
internal readonly record struct TransferResult(TransferStatus Status, Transfer? Transfer = null, long Amount = 0, long Balance = 0, long LastSequence = 0)
{
    public static TransferResult Applied(Transfer transfer) => new(TransferStatus.Applied, transfer);

    /// <param name="amount">The amount asked for.</param>
    /// <param name="balance">The balance when the request was declined.</param>
    public static TransferResult InsufficientFunds(long amount, long balance) => new(TransferStatus.InsufficientFunds, Amount: amount, Balance: balance);

    public static TransferResult SequenceReused() => new(TransferStatus.SequenceReused);

    public static TransferResult SequenceGap(long lastSequence) => new(TransferStatus.SequenceGap, LastSequence: lastSequence);

    public static TransferResult AccountNotFound() => new(TransferStatus.AccountNotFound);
}
