using Idempotency.Storage;

namespace Idempotency.Execution;

/// <summary>The engine's answer to a begin: one shape for records and streams, and for store failures.</summary>
internal readonly struct BeginResult
{
    private BeginResult(BeginDecision decision, long fencingToken, StoredResponse? response, long lastSequence, long currentEpoch, Exception? failure, IIdempotencyStoreTransaction? transaction = null)
    {
        Transaction = transaction;
        Decision = decision;
        FencingToken = fencingToken;
        Response = response;
        LastSequence = lastSequence;
        CurrentEpoch = currentEpoch;
        Failure = failure;
    }

    public BeginDecision Decision { get; }

    /// <summary>With <see cref="BeginDecision.Acquired"/>, the token that proves ownership.</summary>
    public long FencingToken { get; }

    /// <summary>With <see cref="BeginDecision.Completed"/>, the stored response.</summary>
    public StoredResponse? Response { get; }

    /// <summary>With <see cref="BeginDecision.Gap"/> and <see cref="BeginDecision.AlreadyApplied"/>, the stream's last applied number.</summary>
    public long LastSequence { get; }

    /// <summary>With <see cref="BeginDecision.EpochFenced"/>, the stream's epoch.</summary>
    public long CurrentEpoch { get; }

    /// <summary>With the store failures, what the store threw.</summary>
    public Exception? Failure { get; }

    /// <summary>
    /// With <see cref="BeginDecision.Acquired"/> under a transactional policy, the open transaction whose uncommitted row
    /// is the acquisition; the owner commits or disposes it. <see langword="null"/> otherwise.
    /// </summary>
    public IIdempotencyStoreTransaction? Transaction { get; }

    /// <summary>This acquisition, held by <paramref name="transaction"/>.</summary>
    public BeginResult InTransaction(IIdempotencyStoreTransaction transaction) => new(Decision, FencingToken, Response, LastSequence, CurrentEpoch, Failure, transaction);

    public static BeginResult From(IdempotencyBeginResult result) => result.Status switch
    {
        IdempotencyBeginStatus.Acquired => new(BeginDecision.Acquired, result.FencingToken, null, 0, 0, null),
        IdempotencyBeginStatus.Completed => new(BeginDecision.Completed, 0, result.Response, 0, 0, null),
        IdempotencyBeginStatus.FingerprintMismatch => new(BeginDecision.FingerprintMismatch, 0, null, 0, 0, null),
        _ => new(BeginDecision.InFlight, 0, null, 0, 0, null),
    };

    public static BeginResult From(SequenceBeginResult result) => result.Status switch
    {
        SequenceBeginStatus.Acquired => new(BeginDecision.Acquired, result.FencingToken, null, 0, 0, null),
        SequenceBeginStatus.Completed => new(BeginDecision.Completed, 0, result.Response, 0, 0, null),
        SequenceBeginStatus.FingerprintMismatch => new(BeginDecision.FingerprintMismatch, 0, null, 0, 0, null),
        SequenceBeginStatus.InFlight => new(BeginDecision.InFlight, 0, null, 0, 0, null),
        SequenceBeginStatus.Gap => new(BeginDecision.Gap, 0, null, result.LastSequence, 0, null),
        SequenceBeginStatus.AlreadyApplied => new(BeginDecision.AlreadyApplied, 0, null, result.LastSequence, 0, null),
        _ => new(BeginDecision.EpochFenced, 0, null, 0, result.CurrentEpoch, null),
    };

    public static BeginResult Failed(BeginDecision decision, Exception failure) => new(decision, 0, null, 0, 0, failure);
}
