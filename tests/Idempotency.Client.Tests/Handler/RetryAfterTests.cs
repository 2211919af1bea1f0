using System.Globalization;
using System.Net;
using System.Text;
using Idempotency.Client.Tests.Infrastructure;

namespace Idempotency.Client.Tests.Handler;

public sealed class RetryAfterTests
{
    [Fact]
    public async Task In_flight_409_waits_for_Retry_After_then_retries_with_the_same_key()
    {
        using var client = new TestClient();
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight, retryAfter: "1"));

        var sending = client.Client.SendAsync(TestClient.Post());
        await client.Time.WaitForTimerAsync(TimeSpan.FromSeconds(1));

        // Waiting: the retry has not gone out before the server's Retry-After.
        Assert.Single(client.Server.Requests);
        Assert.False(sending.IsCompleted);

        client.Time.Advance(TimeSpan.FromSeconds(1));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var sent = client.Server.Requests.ToArray();
        Assert.Equal(2, sent.Length);
        Assert.NotNull(sent[0].Key);
        Assert.Equal(sent[0].Key, sent[1].Key);
        Assert.Same(sent[0].Message, sent[1].Message);
    }

    [Theory]
    [InlineData(Responses.StoreUnavailable)]
    [InlineData(Responses.StoreFull)]
    public async Task Store_unavailable_or_full_503_is_retried_after_Retry_After_with_the_same_key(string problemType)
    {
        using var client = new TestClient();
        client.Server.Respond(Responses.Problem(HttpStatusCode.ServiceUnavailable, problemType, retryAfter: "2"));

        var sending = client.Client.SendAsync(TestClient.Post());
        await client.Time.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        client.Time.Advance(TimeSpan.FromSeconds(2));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var keys = client.Server.Requests.Select(r => r.Key).ToArray();
        Assert.Equal(2, keys.Length);
        Assert.Equal(keys[0], keys[1]);
    }

    [Fact]
    public async Task Attempts_are_bounded_by_MaxAttempts_and_the_last_answer_reaches_the_caller()
    {
        using var client = new TestClient(o => o.MaxAttempts = 3);
        client.Server.ThenAlways(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight, retryAfter: "0"));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(3, client.Server.Requests.Count);
        Assert.Single(client.Server.Requests.Select(r => r.Key).Distinct());
        Assert.Contains(Responses.InFlight, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task MaxAttempts_1_turns_the_handlers_retries_off()
    {
        using var client = new TestClient(o => o.MaxAttempts = 1);
        client.Server.ThenAlways(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight, retryAfter: "0"));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single(client.Server.Requests);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    public async Task A_409_that_is_not_a_problem_passes_through_with_its_body(string mediaType)
    {
        using var client = new TestClient();
        client.Server.Respond(Responses.Status(HttpStatusCode.Conflict, """{"type":"urn:idempotency:idempotency-request-in-flight"}""", mediaType));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single(client.Server.Requests);
        Assert.Equal("""{"type":"urn:idempotency:idempotency-request-in-flight"}""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(HttpStatusCode.Conflict, Responses.NotReplayable)]
    [InlineData(HttpStatusCode.Conflict, "urn:idempotency:sequence-already-applied")]
    [InlineData(HttpStatusCode.Conflict, Responses.SequenceGap)]
    [InlineData(HttpStatusCode.Conflict, "https://example.com/problems/out-of-stock")]
    [InlineData(HttpStatusCode.UnprocessableEntity, "urn:idempotency:idempotency-key-reused")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "https://example.com/problems/maintenance")]
    [InlineData(HttpStatusCode.ServiceUnavailable, Responses.InFlight)]
    public async Task Other_problems_pass_through_with_their_body(HttpStatusCode status, string type)
    {
        using var client = new TestClient();
        client.Server.Respond(Responses.Problem(status, type));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(status, response.StatusCode);
        Assert.Single(client.Server.Requests);
        Assert.Contains(type, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["1"], response.Headers.GetValues("Retry-After"));
    }

    [Fact]
    public async Task A_large_problem_body_is_streamed_to_the_caller_unchanged()
    {
        using var client = new TestClient();
        var body = Encoding.UTF8.GetBytes($$"""{"type":"{{Responses.InFlight}}","detail":"{{new string('x', 40_000)}}"}""");
        client.Server.Respond(Responses.Streamed(HttpStatusCode.Conflict, body, "application/problem+json"));

        using var response = await client.Client.SendAsync(TestClient.Post(), HttpCompletionOption.ResponseHeadersRead);

        // Larger than any problem of the protocol: not read to the end, not retried, handed over byte for byte.
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single(client.Server.Requests);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_streamed_in_flight_problem_without_Content_Length_is_recognised()
    {
        using var client = new TestClient();
        client.Server.Respond(Responses.Streamed(
            HttpStatusCode.Conflict, Encoding.UTF8.GetBytes($$"""{"title":"Request in flight","type":"{{Responses.InFlight}}"}"""), "application/problem+json"));

        var sending = client.Client.SendAsync(TestClient.Post());
        await client.Time.WaitForTimerAsync(TimeSpan.FromSeconds(1));
        client.Time.Advance(TimeSpan.FromSeconds(1));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, client.Server.Requests.Count);
    }

    [Fact]
    public async Task A_malformed_problem_body_passes_through()
    {
        using var client = new TestClient();
        client.Server.Respond(Responses.Status(HttpStatusCode.Conflict, "{\"type\": ", "application/problem+json"));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single(client.Server.Requests);
        Assert.Equal("{\"type\": ", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Retry_After_is_capped_by_MaxRetryAfter()
    {
        using var client = new TestClient(o => o.MaxRetryAfter = TimeSpan.FromSeconds(5));
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight, retryAfter: "3600"));

        var sending = client.Client.SendAsync(TestClient.Post());
        await client.Time.WaitForTimerAsync(TimeSpan.FromSeconds(5));
        client.Time.Advance(TimeSpan.FromSeconds(5));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Retry_After_as_an_HTTP_date_is_measured_on_the_TimeProvider()
    {
        using var client = new TestClient();
        var date = client.Time.GetUtcNow().AddSeconds(4).ToString("r", CultureInfo.InvariantCulture);
        client.Server.Respond(Responses.Problem(HttpStatusCode.ServiceUnavailable, Responses.StoreUnavailable, retryAfter: date));

        var sending = client.Client.SendAsync(TestClient.Post());
        await client.Time.WaitForTimerAsync(TimeSpan.FromSeconds(4));
        client.Time.Advance(TimeSpan.FromSeconds(4));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Without_Retry_After_the_DefaultRetryAfter_applies()
    {
        using var client = new TestClient(o => o.DefaultRetryAfter = TimeSpan.FromMilliseconds(250));
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight, retryAfter: null));

        var sending = client.Client.SendAsync(TestClient.Post());
        await client.Time.WaitForTimerAsync(TimeSpan.FromMilliseconds(250));
        client.Time.Advance(TimeSpan.FromMilliseconds(250));
        using var response = await sending;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Retrying_in_flight_can_be_turned_off()
    {
        using var client = new TestClient(o => o.RetryInFlight = false);
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single(client.Server.Requests);
    }

    [Fact]
    public async Task Retrying_store_unavailable_can_be_turned_off()
    {
        using var client = new TestClient(o => o.RetryStoreUnavailable = false);
        client.Server.Respond(Responses.Problem(HttpStatusCode.ServiceUnavailable, Responses.StoreUnavailable));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Single(client.Server.Requests);
    }

    [Fact]
    public async Task A_custom_ProblemTypeBaseUri_is_recognised()
    {
        using var client = new TestClient(o => o.ProblemTypeBaseUri = "https://errors.example.com/");
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, "https://errors.example.com/idempotency-request-in-flight", retryAfter: "0"));

        using var response = await client.Client.SendAsync(TestClient.Post());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, client.Server.Requests.Count);
    }

    [Fact]
    public async Task Cancelling_while_waiting_ends_the_request()
    {
        using var client = new TestClient();
        client.Server.Respond(Responses.Problem(HttpStatusCode.Conflict, Responses.InFlight, retryAfter: "10"));
        using var cancellation = new CancellationTokenSource();

        var sending = client.Client.SendAsync(TestClient.Post(), cancellation.Token);
        await client.Time.WaitForTimerAsync(TimeSpan.FromSeconds(10));
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        Assert.Single(client.Server.Requests);
    }
}
