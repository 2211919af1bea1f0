namespace Idempotency.Chaos.History;

/// <summary>
/// One run of a handler, recorded by the handler itself, with the lease it ran under and what the store later did with
/// its response, each with its times on the run's clock. Executions are the ground truth the checker holds responses
/// against; the times are the only evidence for one more execution of the same operation.
/// </summary>
public sealed class ExecutionRecord
{
    private int _completion;

    public required long RequestId { get; init; }

    public required long Sequence { get; init; }

    public required string Principal { get; init; }

    public required string Operation { get; init; }

    public required string Instance { get; init; }

    public required int Status { get; init; }

    public required string Location { get; init; }

    public required byte[] Body { get; init; }

    /// <summary>
    /// The headers every response of this execution (its own or a replay) must carry with these values: those the
    /// middleware captured for the record once it got that far, else those the handler wrote. Empty when unknown.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; set; } = [];

    /// <summary>The lease the execution ran under; null when nobody saw it granted (no middleware, another process).</summary>
    public LeaseRecord? Lease { get; set; }

    /// <summary>What became of the response in the store, as the store reported it.</summary>
    public CompletionOutcome Completion
    {
        get => (CompletionOutcome)Volatile.Read(ref _completion);
        set => Volatile.Write(ref _completion, (int)value);
    }

    /// <summary>When the completion (or release) call started, on the run's clock.</summary>
    public TimeSpan? CompletionStartedAt { get; set; }

    /// <summary>When the store's answer to it arrived (or the call failed), on the run's clock.</summary>
    public TimeSpan? CompletionEndedAt { get; set; }

    /// <summary>
    /// For a <see cref="CompletionOutcome.Failed"/> completion, whether its write reached the store after all, as the
    /// store read after the run showed: true when the record holds this response, false when it provably does not,
    /// null when that could not be told.
    /// </summary>
    public bool? Landed { get; set; }

    /// <summary>Records the outcome of the completion (or release) call and its times.</summary>
    public void Complete(CompletionOutcome outcome, TimeSpan startedAt, TimeSpan endedAt)
    {
        CompletionStartedAt = startedAt;
        CompletionEndedAt = endedAt;
        Completion = outcome;
    }
}
