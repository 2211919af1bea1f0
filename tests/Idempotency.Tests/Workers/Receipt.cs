namespace Idempotency.Tests.Workers;

/// <summary>What the test consumers' work returns.</summary>
public sealed record Receipt(string MessageId, int Execution, string Text);
