namespace Idempotency.Testing.Properties;

/// <summary>What <see cref="SequenceRun{TOperation}"/> needs to know of a step of either mode.</summary>
internal interface IStoreOperation
{
    OperationKind Kind { get; }

    /// <summary>The lease, retention or advance; zero for a release.</summary>
    TimeSpan Duration { get; }
}
