using System.Text.Json;

namespace Idempotency.OpenApi.Tests.Infrastructure;

/// <summary>Navigation over a served OpenAPI document, read as a client generator reads it.</summary>
public sealed class OpenApiDocumentJson(JsonDocument document)
{
    public JsonElement Root => document.RootElement;

    public JsonElement Operation(string method, string path)
    {
        Assert.True(Root.GetProperty("paths").TryGetProperty(path, out var item), $"The document has no path {path}.");
        Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out var operation), $"The document has no {method} {path}.");
        return operation;
    }

    /// <summary>The header parameters of an operation, by name.</summary>
    public static Dictionary<string, JsonElement> HeaderParameters(JsonElement operation)
    {
        var headers = new Dictionary<string, JsonElement>(StringComparer.OrdinalIgnoreCase);
        if (operation.TryGetProperty("parameters", out var parameters))
        {
            foreach (var parameter in parameters.EnumerateArray())
            {
                if (parameter.GetProperty("in").GetString() == "header")
                {
                    Assert.True(headers.TryAdd(parameter.GetProperty("name").GetString()!, parameter), "A header parameter is documented twice.");
                }
            }
        }

        return headers;
    }

    public static JsonElement Header(JsonElement operation, string name)
    {
        Assert.True(HeaderParameters(operation).TryGetValue(name, out var header), $"The operation has no {name} header parameter.");
        return header;
    }

    public static bool IsRequired(JsonElement parameter) =>
        parameter.TryGetProperty("required", out var required) && required.GetBoolean();

    /// <summary>The documented status codes of an operation.</summary>
    public static HashSet<string> Statuses(JsonElement operation) =>
        operation.GetProperty("responses").EnumerateObject().Select(static r => r.Name).ToHashSet();

    public static JsonElement Response(JsonElement operation, int status)
    {
        Assert.True(operation.GetProperty("responses").TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response), $"The operation documents no {status} response.");
        return response;
    }

    /// <summary>The problem types a response's description names (the <c>`urn:...`</c> items of its list).</summary>
    public static List<string> ProblemTypes(JsonElement response) =>
        response.GetProperty("description").GetString()!
            .Split('\n')
            .Where(static line => line.StartsWith("- `", StringComparison.Ordinal))
            .Select(static line => line[3..line.IndexOf('`', 3)])
            .ToList();

    public static bool HasResponseHeader(JsonElement response, string name) =>
        response.TryGetProperty("headers", out var headers) && headers.TryGetProperty(name, out _);

    public static string Raw(JsonElement element) => element.GetRawText();
}
