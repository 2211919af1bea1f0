namespace Idempotency.Chaos.History;

/// <summary>
/// One run of a handler, recorded by the handler itself, with what the store later did with its response. Executions
/// are the ground truth the checker holds responses against.
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

    /// <summary>What became of the response in the store, as the store reported it.</summary>
    public CompletionOutcome Completion
    {
        get => (CompletionOutcome)Volatile.Read(ref _completion);
        set => Volatile.Write(ref _completion, (int)value);
    }
}
