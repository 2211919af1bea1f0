using System.Net;
using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;
using Idempotency.Testing;

namespace Idempotency.Tests.Middleware;

/// <summary>One test (or more) per row of the key-mode outcome table in docs/contract.md §3.</summary>
public sealed class KeyModeOutcomeTests
{
    [Fact]
    public async Task Missing_key_on_required_policy_returns_400_without_store_call()
    {
        await using var app = await TestApp.StartAsync();

        var response = await app.Client.SendAsync(TestApp.Post("/items", key: null));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "idempotency-key-missing");
        Assert.Equal(0, app.Handlers.Executions("items"));
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"unterminated")]
    [InlineData("\"bad\\escape\"")]
    [InlineData("has space")]
    [InlineData("comma,separated")]
    [InlineData("\"   \"")]
    public async Task Malformed_key_returns_400_without_store_call(string key)
    {
        await using var app = await TestApp.StartAsync();

        var response = await app.Client.SendAsync(TestApp.Post("/items", key));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "idempotency-key-invalid");
        Assert.Equal(0, app.Handlers.Executions("items"));
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task Empty_key_header_returns_400_invalid()
    {
        await using var app = await TestApp.StartAsync();

        var context = await app.Server.SendAsync(c =>
        {
            c.Request.Method = "POST";
            c.Request.Path = "/items";
            c.Request.Headers["Idempotency-Key"] = "";
        });

        Assert.Equal(400, context.Response.StatusCode);
        var body = await new StreamReader(context.Response.Body).ReadToEndAsync();
        Assert.Contains("urn:idempotency:idempotency-key-invalid", body, StringComparison.Ordinal);
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task Key_longer_than_the_limit_returns_400_invalid()
    {
        await using var app = await TestApp.StartAsync();

        var ok = await app.Client.SendAsync(TestApp.Post("/items", new string('k', 255)));
        var tooLong = await app.Client.SendAsync(TestApp.Post("/items", new string('k', 256)));

        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        await ProblemAssert.IsProblemAsync(tooLong, HttpStatusCode.BadRequest, "idempotency-key-invalid");
    }

    [Fact]
    public async Task Two_key_headers_return_400_invalid()
    {
        await using var app = await TestApp.StartAsync();
        var request = TestApp.Post("/items", "first");
        request.Headers.TryAddWithoutValidation("Idempotency-Key", "second");

        var response = await app.Client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "idempotency-key-invalid");
    }

    [Fact]
    public async Task First_request_runs_the_handler_and_returns_its_response()
    {
        await using var app = await TestApp.StartAsync();

        var response = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("{\"execution\":1,\"echo\":{\"amount\":100}}", await response.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task Retry_with_same_request_replays_status_headers_and_body()
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        Assert.Equal(1, app.Handlers.Executions("items"));
        Assert.Equal(first.StatusCode, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal("1", Assert.Single(retry.Headers.GetValues("X-Execution")));
        Assert.Equal(["a", "b"], retry.Headers.GetValues("X-Multi"));
        Assert.Equal("application/json", retry.Content.Headers.ContentType?.MediaType);
        Assert.Equal(first.Content.Headers.ContentLength ?? (await first.Content.ReadAsByteArrayAsync()).Length, retry.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Replay_never_carries_set_cookie()
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        Assert.True(first.Headers.Contains("Set-Cookie"));
        Assert.False(retry.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Quoted_and_bare_forms_of_a_key_are_the_same_key()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/items", "abc-123"));
        var retry = await app.Client.SendAsync(TestApp.Post("/items", "\"abc-123\""));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task Retry_with_different_body_returns_422()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/items", "key-1", "{\"amount\":100}"));
        var retry = await app.Client.SendAsync(TestApp.Post("/items", "key-1", "{\"amount\":999}"));

        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task Retry_on_another_path_returns_422()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/items", "key-1"));
        var other = await app.Client.SendAsync(TestApp.Post("/other", "key-1"));

        await ProblemAssert.IsProblemAsync(other, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(0, app.Handlers.Executions("other"));
    }

    [Fact]
    public async Task Retry_with_another_content_type_or_query_returns_422()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/items", "key-1"));
        var contentType = await app.Client.SendAsync(TestApp.Post("/items", "key-1", contentType: "text/plain"));
        var query = await app.Client.SendAsync(TestApp.Post("/items?x=1", "key-1"));

        await ProblemAssert.IsProblemAsync(contentType, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        await ProblemAssert.IsProblemAsync(query, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task Duplicate_while_in_flight_returns_409_with_retry_after()
    {
        await using var app = await TestApp.StartAsync();
        var original = app.Client.SendAsync(TestApp.Post("/gate", "key-1"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var duplicate = await app.Client.SendAsync(TestApp.Post("/gate", "key-1"));

        await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, "idempotency-request-in-flight");
        Assert.Equal(TimeSpan.FromSeconds(1), duplicate.Headers.RetryAfter?.Delta);
        app.Handlers.Gate.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await original).StatusCode);
        Assert.Equal(1, app.Handlers.Executions("gate"));
    }

    [Fact]
    public async Task Different_body_while_in_flight_returns_422_not_409()
    {
        await using var app = await TestApp.StartAsync();
        var original = app.Client.SendAsync(TestApp.Post("/gate", "key-1", "{\"a\":1}"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var conflicting = await app.Client.SendAsync(TestApp.Post("/gate", "key-1", "{\"a\":2}"));

        await ProblemAssert.IsProblemAsync(conflicting, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        app.Handlers.Gate.SetResult();
        await original;
    }

    [Fact]
    public async Task Wait_mode_duplicate_waits_for_the_original_and_replays_it()
    {
        await using var app = await TestApp.StartAsync();
        var original = app.Client.SendAsync(TestApp.Post("/gate-wait", "key-1"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var duplicate = app.Client.SendAsync(TestApp.Post("/gate-wait", "key-1"));
        await Task.Delay(100);
        Assert.False(duplicate.IsCompleted);
        app.Handlers.Gate.SetResult();

        var duplicateResponse = await duplicate;
        Assert.Equal(HttpStatusCode.OK, duplicateResponse.StatusCode);
        Assert.True(duplicateResponse.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await (await original).Content.ReadAsStringAsync(), await duplicateResponse.Content.ReadAsStringAsync());
        Assert.Equal(1, app.Handlers.Executions("gate-wait"));
    }

    [Fact]
    public async Task Handler_exception_releases_the_record_so_a_retry_executes_again()
    {
        await using var app = await TestApp.StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(TestApp.Post("/throw", "key-1")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(TestApp.Post("/throw", "key-1")));

        Assert.Equal(2, app.Handlers.Executions("throw"));
        Assert.Equal(2, app.Store.Releases);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(408)]
    [InlineData(409)]
    [InlineData(425)]
    [InlineData(429)]
    public async Task Status_that_is_not_storable_releases_the_record(int status)
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Post($"/status/{status}", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post($"/status/{status}", "key-1"));

        Assert.Equal(status, (int)first.StatusCode);
        Assert.Equal($"status {status} execution 2", await retry.Content.ReadAsStringAsync());
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Theory]
    [InlineData(200)]
    [InlineData(201)]
    [InlineData(204)]
    [InlineData(303)]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(422)]
    public async Task Storable_status_is_replayed(int status)
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Post($"/status/{status}", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post($"/status/{status}", "key-1"));

        Assert.Equal(status, (int)retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(1, app.Handlers.Executions("status"));
    }

    [Fact]
    public async Task Server_errors_are_replayed_when_the_policy_stores_them()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/server-errors/500", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post("/server-errors/500", "key-1"));

        Assert.Equal(HttpStatusCode.InternalServerError, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("server-errors"));
    }

    [Fact]
    public async Task Response_larger_than_the_snapshot_limit_streams_whole_and_retry_gets_409_not_replayable()
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Post("/large/5000", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post("/large/5000", "key-1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(5000, (await first.Content.ReadAsByteArrayAsync()).Length);
        var problem = await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.Conflict, "idempotency-response-not-replayable");
        Assert.Equal(200, problem.GetProperty("originalStatus").GetInt32());
        Assert.Equal(1, app.Handlers.Executions("large"));
    }

    [Fact]
    public async Task Response_within_the_snapshot_limit_is_replayed_byte_for_byte()
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Post("/large/1024", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post("/large/1024", "key-1"));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Store_failure_returns_503_with_retry_after_and_does_not_run_the_handler()
    {
        await using var app = await TestApp.StartAsync();
        app.Store.BeginOverride = static () => throw new IdempotencyStoreUnavailableException("store down");

        var response = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Equal(0, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task Store_timeout_returns_503_with_retry_after()
    {
        await using var app = await TestApp.StartAsync(o =>
        {
            o.StoreTimeout = TimeSpan.FromMilliseconds(200);
            o.StoreUnavailableRetryAfter = TimeSpan.FromSeconds(7);
        });
        var never = new TaskCompletionSource<IdempotencyBeginResult>();
        app.Store.BeginOverride = () => new ValueTask<IdempotencyBeginResult>(never.Task);

        var response = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Equal(0, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task Fail_open_policy_runs_the_handler_when_the_store_is_down()
    {
        await using var app = await TestApp.StartAsync();
        app.Store.BeginOverride = static () => throw new IdempotencyStoreUnavailableException("store down");

        var response = await app.Client.SendAsync(TestApp.Post("/fail-open", "key-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, app.Handlers.Executions("fail-open"));
    }

    [Fact]
    public async Task Failure_to_store_the_response_still_returns_the_handlers_response()
    {
        await using var app = await TestApp.StartAsync();
        app.Store.CompleteOverride = static () => throw new IdempotencyStoreUnavailableException("store down");

        var response = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(1, app.Store.Completions);
    }

    [Fact]
    public async Task Optional_key_endpoint_without_key_runs_unprotected_and_never_records()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/optional", key: null));
        var second = await app.Client.SendAsync(TestApp.Post("/optional", key: null));

        Assert.Equal("optional execution 2", await second.Content.ReadAsStringAsync());
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task Optional_key_endpoint_with_key_is_protected()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/optional", "key-1"));
        var retry = await app.Client.SendAsync(TestApp.Post("/optional", "key-1"));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.Handlers.Executions("optional"));
    }

    [Fact]
    public async Task Two_principals_with_the_same_key_never_share_a_record()
    {
        await using var app = await TestApp.StartAsync();

        var alice = await app.Client.SendAsync(TestApp.Post("/items", "shared", user: "alice"));
        var bob = await app.Client.SendAsync(TestApp.Post("/items", "shared", user: "bob"));
        var anonymous = await app.Client.SendAsync(TestApp.Post("/items", "shared"));

        Assert.False(bob.Headers.Contains("Idempotent-Replayed"));
        Assert.False(anonymous.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(3, app.Handlers.Executions("items"));
        Assert.Equal(HttpStatusCode.Created, alice.StatusCode);
    }

    [Fact]
    public async Task Canonical_json_policy_replays_a_retry_with_reordered_properties_and_whitespace()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/canonical", "key-1", "{\"a\":1,\"b\":{\"y\":2,\"x\":[1,2]}}"));
        var retry = await app.Client.SendAsync(TestApp.Post("/canonical", "key-1", "{ \"b\" : { \"x\" : [1, 2], \"y\" : 2 }, \"a\" : 1 }"));
        var changed = await app.Client.SendAsync(TestApp.Post("/canonical", "key-1", "{\"a\":1,\"b\":{\"y\":3,\"x\":[1,2]}}"));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        await ProblemAssert.IsProblemAsync(changed, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, app.Handlers.Executions("canonical"));
    }

    [Fact]
    public async Task Byte_fingerprint_treats_reordered_json_as_a_different_request()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Post("/items", "key-1", "{\"a\":1,\"b\":2}"));
        var reordered = await app.Client.SendAsync(TestApp.Post("/items", "key-1", "{\"b\":2,\"a\":1}"));

        await ProblemAssert.IsProblemAsync(reordered, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }
}
