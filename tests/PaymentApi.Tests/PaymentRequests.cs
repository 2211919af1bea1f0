using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PaymentApi.Tests;

/// <summary>Builds <c>POST /payments</c> requests and reads the answers.</summary>
internal static class PaymentRequests
{
    public const string KeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";

    public static string NewKey() => $"key-{Guid.NewGuid():N}";

    public static string Body(long amount = 1250, string currency = "EUR", string? description = "Coffee beans") =>
        new JsonObject { ["amount"] = amount, ["currency"] = currency, ["description"] = description }.ToJsonString();

    public static HttpRequestMessage Create(string? idempotencyKey, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/payments")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation(KeyHeader, idempotencyKey);
        }

        return request;
    }

    public static async Task<HttpResponseMessage> PostPaymentAsync(this HttpClient client, string? idempotencyKey, string body)
    {
        using var request = Create(idempotencyKey, body);
        return await client.SendAsync(request);
    }

    /// <summary>Creates a payment and returns its JSON; fails the test unless the answer is 201.</summary>
    public static async Task<JsonElement> CreatePaymentAsync(this HttpClient client, long amount = 1250, string currency = "EUR", string? description = "Coffee beans")
    {
        using var response = await client.PostPaymentAsync(NewKey(), Body(amount, currency, description));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static async Task<JsonElement[]> ListPaymentsAsync(this HttpClient client, string query = "")
    {
        using var response = await client.GetAsync("/payments" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray()];
    }

    public static string Id(this JsonElement payment) => payment.GetProperty("id").GetString()!;

    public static bool IsReplayed(this HttpResponseMessage response) =>
        response.Headers.TryGetValues(ReplayedHeader, out var values) && values.SequenceEqual(["true"]);

    /// <summary>Asserts an RFC 9457 problem with this status (and type, when given) and returns its JSON.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? type = null)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        if (type is not null)
        {
            Assert.Equal(type, problem.GetProperty("type").GetString());
        }

        return problem;
    }

    /// <summary>
    /// Asserts what concurrent copies of one payment request must get: exactly one ran the handler; every other one is
    /// a byte-identical replay of it or a <c>409 idempotency-request-in-flight</c> with <c>Retry-After</c>.
    /// </summary>
    public static async Task AssertOneExecutionOthersReplayedOrInFlightAsync(HttpResponseMessage[] responses)
    {
        var original = Assert.Single(responses, response => response.StatusCode == HttpStatusCode.Created && !response.IsReplayed());
        var originalBody = await original.Content.ReadAsStringAsync();
        foreach (var response in responses.Where(response => response != original))
        {
            if (response.StatusCode == HttpStatusCode.Created)
            {
                Assert.True(response.IsReplayed());
                Assert.Equal(originalBody, await response.Content.ReadAsStringAsync());
            }
            else
            {
                await AssertProblemAsync(response, HttpStatusCode.Conflict, "urn:idempotency:idempotency-request-in-flight");
                Assert.NotNull(response.Headers.RetryAfter);
            }
        }
    }
}
