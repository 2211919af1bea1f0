using System.Text.Json.Serialization;

namespace Idempotency.Tests.Workers;

/// <summary>What the test consumers' work returns.</summary>
public sealed record Receipt(string MessageId, int Execution, string Text);

[JsonSerializable(typeof(Receipt))]
internal sealed partial class WorkerJsonContext : JsonSerializerContext;
