namespace Idempotency.Redis.Tests.Workers;

/// <summary>What the consumer's work returns: which message, which host ran it, and the how-manieth run it was.</summary>
public sealed record ConsumerReceipt(string MessageId, string Host, int Execution);
