using System.Text.Json;
using System.Text.Json.Serialization;

namespace Idempotency.Admin.Views;

/// <summary>The admin endpoints' JSON, generated at build time so they work trimmed and under native AOT.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RecordView))]
[JsonSerializable(typeof(StreamView))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
