using System.Net;
using System.Text.Json;

namespace PaymentApi.Tests;

public sealed class OpenApiDocumentTests(PaymentApiFactory factory) : IClassFixture<PaymentApiFactory>
{
    private const string ProblemJson = "application/problem+json";

    [Fact]
    public async Task Document_is_served_without_authentication()
    {
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Create_payment_documents_a_required_Idempotency_Key()
    {
        var operation = await OperationAsync("post", "/payments");

        var key = HeaderParameter(operation, "Idempotency-Key");
        Assert.True(key.GetProperty("required").GetBoolean());
        Assert.Contains("1 to 255 characters", key.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("400")]
    [InlineData("409")]
    [InlineData("422")]
    [InlineData("503")]
    public async Task Create_payment_documents_the_problem_responses(string status)
    {
        var operation = await OperationAsync("post", "/payments");

        Assert.True(operation.GetProperty("responses").TryGetProperty(status, out var response), $"No {status} response.");
        Assert.True(response.GetProperty("content").TryGetProperty(ProblemJson, out _));
    }

    [Fact]
    public async Task Create_payment_names_the_idempotency_problems_and_keeps_its_own_validation_problem()
    {
        var responses = (await OperationAsync("post", "/payments")).GetProperty("responses");

        Assert.Contains("urn:idempotency:idempotency-key-reused", Description(responses, "422"), StringComparison.Ordinal);
        Assert.Contains("urn:idempotency:idempotency-request-in-flight", Description(responses, "409"), StringComparison.Ordinal);
        Assert.Contains("urn:idempotency:idempotency-store-unavailable", Description(responses, "503"), StringComparison.Ordinal);

        // The endpoint documents its 400 (validation) itself; the transformer leaves it as it is.
        var badRequest = responses.GetProperty("400").GetProperty("content").GetProperty(ProblemJson).GetProperty("schema");
        Assert.Equal("#/components/schemas/HttpValidationProblemDetails", badRequest.GetProperty("$ref").GetString());
    }

    [Fact]
    public async Task Created_response_documents_Idempotent_Replayed()
    {
        var operation = await OperationAsync("post", "/payments");

        Assert.True(operation.GetProperty("responses").GetProperty("201").GetProperty("headers").TryGetProperty("Idempotent-Replayed", out _));
    }

    [Theory]
    [InlineData("/payments")]
    [InlineData("/payments/{id}")]
    public async Task Reads_have_no_idempotency_headers_or_problems(string path)
    {
        var operation = await OperationAsync("get", path);

        Assert.False(operation.TryGetProperty("parameters", out var parameters)
            && parameters.EnumerateArray().Any(static p => p.GetProperty("name").GetString() == "Idempotency-Key"));
        Assert.False(operation.GetProperty("responses").TryGetProperty("422", out _));
    }

    private async Task<JsonElement> OperationAsync(string method, string path)
    {
        using var client = factory.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json");
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).Clone();
    }

    private static JsonElement HeaderParameter(JsonElement operation, string name) =>
        Assert.Single(operation.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("in").GetString() == "header" && p.GetProperty("name").GetString() == name);

    private static string Description(JsonElement responses, string status) =>
        responses.GetProperty(status).GetProperty("description").GetString()!;
}
