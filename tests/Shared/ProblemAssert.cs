using System.Net;
using System.Text.Json;
using Xunit;

namespace Idempotency.Testing;

/// <summary>Assertions on the middleware's problem responses, shared by every test project that hosts it.</summary>
internal static class ProblemAssert
{
    /// <summary>Asserts an RFC 9457 problem response of the given status and problem name; returns its JSON.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status, string problemName)
    {
        var body = await response.Content.ReadAsStringAsync();
        return IsProblem(response, body, status, problemName);
    }

    /// <summary>The same, for a response whose body was already read.</summary>
    public static JsonElement IsProblem(HttpResponseMessage response, string body, HttpStatusCode status, string problemName)
    {
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("urn:idempotency:" + problemName, json.GetProperty("type").GetString());
        Assert.Equal((int)status, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(json.GetProperty("detail").GetString()));
        return json;
    }
}
