using System.Text.Json.Serialization;

namespace Idempotency.Tests.Workers;

[JsonSerializable(typeof(Receipt))]
internal sealed partial class WorkerJsonContext : JsonSerializerContext;
