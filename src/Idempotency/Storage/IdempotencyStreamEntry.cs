namespace Idempotency.Storage;

/// <summary>One applied number of a stream whose response the stream still keeps for replay.</summary>
public sealed class IdempotencyStreamEntry
{
    /// <summary>Creates an entry.</summary>
    /// <param name="sequenceNumber">The applied number, 1 or more.</param>
    /// <param name="response">Its stored response.</param>
    public IdempotencyStreamEntry(long sequenceNumber, StoredResponse response)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceNumber, 1);
        ArgumentNullException.ThrowIfNull(response);
        SequenceNumber = sequenceNumber;
        Response = response;
    }

    /// <summary>The applied number.</summary>
    public long SequenceNumber { get; }

    /// <summary>The response a retry of <see cref="SequenceNumber"/> gets.</summary>
    public StoredResponse Response { get; }
}
