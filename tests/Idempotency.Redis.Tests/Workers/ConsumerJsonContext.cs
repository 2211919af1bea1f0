using System.Text.Json.Serialization;

namespace Idempotency.Redis.Tests.Workers;

[JsonSerializable(typeof(ConsumerReceipt))]
internal sealed partial class ConsumerJsonContext : JsonSerializerContext;
