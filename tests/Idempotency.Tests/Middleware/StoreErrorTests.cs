using System.Net;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;

namespace Idempotency.Tests.Middleware;

/// <summary>Only an unavailable store may be answered 503 or fail open; no other store failure ever runs the handler.</summary>
public sealed class StoreErrorTests
{
    [Fact]
    public async Task An_unreadable_record_on_a_fail_open_policy_answers_500_without_running_the_handler()
    {
        await using var app = await TestApp.StartAsync();
        app.Store.BeginOverride = static () => throw new InvalidDataException("The stored response has format version 9.");

        var response = await app.Client.SendAsync(TestApp.Post("/fail-open", "key-1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, "idempotency-record-unreadable");
        Assert.Equal(0, app.Handlers.Executions("fail-open"));
    }

    [Fact]
    public async Task An_unreadable_stream_answers_500_without_running_the_handler()
    {
        await using var app = await TestApp.StartAsync();
        app.Store.SequenceBeginOverride = static () => throw new InvalidDataException("truncated");

        var response = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, "idempotency-record-unreadable");
        Assert.Equal(0, app.Handlers.Executions("seq"));
    }

    [Fact]
    public async Task Any_other_store_failure_is_a_server_error_that_never_fails_open()
    {
        await using var app = await TestApp.StartAsync();
        app.Store.BeginOverride = static () => throw new InvalidOperationException("a bug in the store");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(TestApp.Post("/fail-open", "key-1")));

        Assert.Equal("a bug in the store", error.Message);
        Assert.Equal(0, app.Handlers.Executions("fail-open"));
    }
}
