using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Tests.Transactions;

/// <summary>
/// Transactional mode as the middleware drives it: the record and the handler's writes commit together or not at
/// all, and nothing the handler wrote reaches the client before the commit.
/// </summary>
public sealed class TransactionalModeTests : IAsyncDisposable
{
    private readonly TestLedger _ledger = new();
    private readonly SemaphoreSlim _gate = new(0);
    private WebApplication? _app;
    private TransactionalTestStore? _store;
    private int _executions;
    private int _throws = 1;
    private bool _streamedToEnd;
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TransactionalTestStore Store => _store!;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _store?.Dispose();
    }

    private async Task<HttpClient> StartAsync(Action<WebApplication>? inside = null, Action<IdempotencyOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_ledger);
        builder.Services.AddScoped<TestUnitOfWork>();
        builder.Services.AddIdempotency(options =>
        {
            options.AddPolicy("tx", p =>
            {
                p.Transactional = true;
                p.MaxSnapshotBytes = 1024;
            });
            options.AddPolicy("tx-wait", p =>
            {
                p.Transactional = true;
                p.ConcurrentRequests = ConcurrentRequestHandling.Wait;
                p.ConcurrentWaitTimeout = TimeSpan.FromSeconds(20);
            });
            options.AddPolicy("tx-sequence", p =>
            {
                p.Transactional = true;
                p.SequenceRequirement = SequenceRequirement.Required;
            });
            options.AddPolicy("tx-per-user", p =>
            {
                p.Transactional = true;
                p.ScopeResolver = static arguments => ValueTask.FromResult(arguments.Context.Request.Headers["X-User"].ToString());
            });
            configure?.Invoke(options);
        }).AddStore(services => new TransactionalTestStore(services.GetRequiredService<TestLedger>(), TimeProvider.System));

        _app = builder.Build();
        _store = (TransactionalTestStore)_app.Services.GetRequiredService<IIdempotencyStore>();

        // Outside the middleware: notes the moment anything of the response would reach the client.
        _app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                _ledger.Note("response-started");
                return Task.CompletedTask;
            });
            context.RequestAborted.Register(static aborted => ((TaskCompletionSource)aborted!).TrySetResult(), _aborted);
            return next(context);
        });
        _app.UseIdempotency();
        inside?.Invoke(_app);

        _app.MapPost("/pay", (HttpContext context, TestUnitOfWork work) =>
        {
            var execution = Interlocked.Increment(ref _executions);
            work.Write("payment " + execution);
            context.Response.Headers["X-Handler"] = "ran";
            return Results.Text($"{{\"payment\":{execution}}}", "application/json", statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-throws-once", (TestUnitOfWork work) =>
        {
            var execution = Interlocked.Increment(ref _executions);
            work.Write("payment " + execution);
            if (Interlocked.Exchange(ref _throws, 0) == 1)
            {
                throw new InvalidOperationException("The handler failed after writing.");
            }

            return Results.Text($"{{\"payment\":{execution}}}", "application/json", statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-unavailable", (TestUnitOfWork work) =>
        {
            Interlocked.Increment(ref _executions);
            work.Write("payment");
            return Results.Text("busy", statusCode: StatusCodes.Status503ServiceUnavailable);
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-large", (TestUnitOfWork work) =>
        {
            Interlocked.Increment(ref _executions);
            work.Write("payment");
            return Results.Text(new string('x', 4096));
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-flushed", async (HttpContext context, TestUnitOfWork work) =>
        {
            Interlocked.Increment(ref _executions);
            work.Write("payment");
            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.StartAsync();
            await context.Response.WriteAsync("paid early");
            await context.Response.Body.FlushAsync();
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-gated", async (TestUnitOfWork work) =>
        {
            var execution = Interlocked.Increment(ref _executions);
            work.Write("payment " + execution);
            await _gate.WaitAsync();
            return Results.Text($"{{\"payment\":{execution}}}", "application/json", statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-gated-wait", async (TestUnitOfWork work) =>
        {
            var execution = Interlocked.Increment(ref _executions);
            work.Write("payment " + execution);
            await _gate.WaitAsync();
            return Results.Text($"{{\"payment\":{execution}}}", "application/json", statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency("tx-wait");
        _app.MapPost("/pay-streams", async (HttpContext context, TestUnitOfWork work) =>
        {
            Interlocked.Increment(ref _executions);
            work.Write("payment");
            var chunk = new byte[100];
            for (var i = 0; i < 1000; i++)
            {
                await context.Response.Body.WriteAsync(chunk);
                await context.Response.Body.FlushAsync();
            }

            _streamedToEnd = true;
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-writes-then-throws", async (HttpContext context, TestUnitOfWork work) =>
        {
            Interlocked.Increment(ref _executions);
            work.Write("payment");
            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.WriteAsync("{\"payment\":");
            await context.Response.Body.FlushAsync();
            throw new InvalidOperationException("The handler failed half-way through its response.");
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-per-user", (HttpContext context, TestUnitOfWork work) =>
        {
            var execution = Interlocked.Increment(ref _executions);
            var user = context.Request.Headers["X-User"].ToString();
            work.Write("payment " + execution + " by " + user);
            return Results.Text($"{{\"payment\":{execution},\"user\":\"{user}\"}}", "application/json", statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency("tx-per-user");
        _app.MapPost("/transfer", (TestUnitOfWork work) =>
        {
            var execution = Interlocked.Increment(ref _executions);
            work.Write("transfer " + execution);
            return Results.Text($"{{\"transfer\":{execution}}}", "application/json");
        }).RequireIdempotency("tx-sequence");

        await _app.StartAsync();
        return _app.GetTestClient();
    }

    private static HttpRequestMessage Post(string path, string key, long? sequence = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{\"amount\":100}", Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        if (sequence is { } number)
        {
            request.Headers.TryAddWithoutValidation("Sequence-Number", number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return request;
    }

    [Fact]
    public async Task A_committed_request_reaches_the_client_only_after_its_writes_and_record_commit()
    {
        var client = await StartAsync();

        var response = await client.SendAsync(Post("/pay", "k1"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("{\"payment\":1}", await response.Content.ReadAsStringAsync());
        Assert.Equal("ran", response.Headers.GetValues("X-Handler").Single());
        Assert.Equal(["payment 1"], _ledger.Rows);
        Assert.Equal(["commit", "response-started"], _ledger.Events);
        Assert.Equal(Store.TransactionsOpened, Store.TransactionsEnded);
    }

    [Fact]
    public async Task A_retry_after_the_commit_is_replayed_and_writes_nothing()
    {
        var client = await StartAsync();
        var first = await client.SendAsync(Post("/pay", "k1"));

        var retry = await client.SendAsync(Post("/pay", "k1"));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, _executions);
        Assert.Equal(["payment 1"], _ledger.Rows);
    }

    [Fact]
    public async Task A_handler_that_throws_has_its_writes_rolled_back_and_its_retry_runs_again()
    {
        var client = await StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.SendAsync(Post("/pay-throws-once", "k1")));
        Assert.Empty(_ledger.Rows);

        var retry = await client.SendAsync(Post("/pay-throws-once", "k1"));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(["payment 2"], _ledger.Rows);
        Assert.Equal(Store.TransactionsOpened, Store.TransactionsEnded);
    }

    [Fact]
    public async Task A_response_that_is_not_kept_rolls_the_writes_back_and_is_sent_as_the_handler_wrote_it()
    {
        var client = await StartAsync();

        var response = await client.SendAsync(Post("/pay-unavailable", "k1"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("busy", await response.Content.ReadAsStringAsync());
        Assert.Empty(_ledger.Rows);

        await client.SendAsync(Post("/pay-unavailable", "k1"));
        Assert.Equal(2, _executions);
    }

    [Fact]
    public async Task A_failed_commit_sends_nothing_the_handler_wrote_and_a_retry_runs_against_unchanged_data()
    {
        var client = await StartAsync();
        Store.FailCommit = true;

        var response = await client.SendAsync(Post("/pay", "k1"));

        var body = await response.Content.ReadAsStringAsync();
        ProblemAssert.IsProblem(response, body, HttpStatusCode.ServiceUnavailable, "idempotency-commit-failed");
        Assert.False(response.Headers.Contains("X-Handler"));
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Empty(_ledger.Rows);

        Store.FailCommit = false;
        var retry = await client.SendAsync(Post("/pay", "k1"));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(["payment 2"], _ledger.Rows);
    }

    [Fact]
    public async Task A_completion_the_store_refuses_is_not_committed()
    {
        var client = await StartAsync();
        Store.FenceCompletion = true;

        var response = await client.SendAsync(Post("/pay", "k1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "idempotency-commit-failed");
        Assert.Empty(_ledger.Rows);
    }

    [Fact]
    public async Task A_response_larger_than_MaxSnapshotBytes_rolls_everything_back_and_is_answered_500()
    {
        var client = await StartAsync();

        var response = await client.SendAsync(Post("/pay-large", "k1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, "idempotency-response-too-large");
        Assert.Empty(_ledger.Rows);
        Assert.Equal(Store.TransactionsOpened, Store.TransactionsEnded);
    }

    [Fact]
    public async Task A_handler_that_starts_and_flushes_its_response_still_has_it_held_until_the_commit()
    {
        var client = await StartAsync();
        Store.FailCommit = true;

        var response = await client.SendAsync(Post("/pay-flushed", "k1"));

        var body = await response.Content.ReadAsStringAsync();
        ProblemAssert.IsProblem(response, body, HttpStatusCode.ServiceUnavailable, "idempotency-commit-failed");
        Assert.DoesNotContain("paid early", body, StringComparison.Ordinal);
        Assert.Empty(_ledger.Rows);

        Store.FailCommit = false;
        var retry = await client.SendAsync(Post("/pay-flushed", "k1"));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("paid early", await retry.Content.ReadAsStringAsync());
        Assert.Equal(["response-started", "commit", "response-started"], _ledger.Events);
    }

    [Fact]
    public async Task A_concurrent_duplicate_waits_for_the_transaction_and_is_replayed_when_it_commits()
    {
        var client = await StartAsync();
        var first = client.SendAsync(Post("/pay-gated-wait", "k1"));
        await WaitUntilAsync(() => Volatile.Read(ref _executions) == 1);

        var duplicate = client.SendAsync(Post("/pay-gated-wait", "k1"));
        await Task.Delay(200);
        Assert.False(duplicate.IsCompleted);
        _gate.Release();

        var answers = await Task.WhenAll(first, duplicate);
        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.Created, answer.StatusCode));
        Assert.Equal(await answers[0].Content.ReadAsStringAsync(), await answers[1].Content.ReadAsStringAsync());
        Assert.Equal(1, _executions);
        Assert.Equal(["payment 1"], _ledger.Rows);
        Assert.Equal(TimeSpan.FromSeconds(20), Store.LastLockTimeout);
    }

    [Fact]
    public async Task A_concurrent_duplicate_under_Reject_is_answered_in_flight_without_waiting_on_the_transaction()
    {
        var client = await StartAsync();
        var first = client.SendAsync(Post("/pay-gated", "k1"));
        await WaitUntilAsync(() => Volatile.Read(ref _executions) == 1);

        var duplicate = await client.SendAsync(Post("/pay-gated", "k1"));

        await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, "idempotency-request-in-flight");
        Assert.Equal(TimeSpan.Zero, Store.LastLockTimeout);
        _gate.Release();
        Assert.Equal(HttpStatusCode.Created, (await first).StatusCode);
        Assert.Equal(1, _executions);
    }

    [Fact]
    public async Task A_sequenced_request_advances_its_stream_only_when_its_transaction_commits()
    {
        var client = await StartAsync();
        Store.FailCommit = true;
        await ProblemAssert.IsProblemAsync(await client.SendAsync(Post("/transfer", "a", sequence: 1)), HttpStatusCode.ServiceUnavailable, "idempotency-commit-failed");
        Store.FailCommit = false;

        // Number 1 did not apply, so 2 is early, and 1 runs again.
        await ProblemAssert.IsProblemAsync(await client.SendAsync(Post("/transfer", "b", sequence: 2)), HttpStatusCode.Conflict, "sequence-gap");
        var one = await client.SendAsync(Post("/transfer", "a", sequence: 1));
        var two = await client.SendAsync(Post("/transfer", "b", sequence: 2));
        var oneAgain = await client.SendAsync(Post("/transfer", "a", sequence: 1));

        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(HttpStatusCode.OK, two.StatusCode);
        Assert.Equal(await one.Content.ReadAsStringAsync(), await oneAgain.Content.ReadAsStringAsync());
        Assert.Equal(["transfer 2", "transfer 3"], _ledger.Rows);
        Assert.Equal(Store.TransactionsOpened, Store.TransactionsEnded);
    }

    [Fact]
    public async Task Start_up_fails_for_a_transactional_policy_on_a_store_without_transactions()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency(options => options.AddPolicy("payments", p => p.Transactional = true));
        await using var app = builder.Build();
        app.UseIdempotency();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("Policy 'payments'", failure.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(IIdempotencyTransactionalStore), failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_worker_executor_refuses_a_transactional_policy_before_running_anything()
    {
        await StartAsync();
        var executor = _app!.Services.GetRequiredService<IIdempotentExecutor>();
        var ran = false;

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () => await executor.ExecuteAsync(
            new IdempotentOperation("message-1", "{}"u8.ToArray()) { PolicyName = "tx" },
            _ =>
            {
                ran = true;
                return ValueTask.FromResult(1);
            },
            (JsonTypeInfo<int>)System.Text.Json.JsonSerializerOptions.Default.GetTypeInfo(typeof(int))));

        Assert.Contains("transactional", failure.Message, StringComparison.Ordinal);
        Assert.False(ran);
        Assert.Equal(0, Store.TransactionsOpened);
    }

    [Fact]
    public async Task A_held_response_that_outgrows_MaxSnapshotBytes_fails_the_handler_at_that_write_and_rolls_everything_back()
    {
        var client = await StartAsync();

        var response = await client.SendAsync(Post("/pay-streams", "k1"));

        // Nothing of it could ever be sent: the handler must not stream on (for ever, for an endpoint that streams)
        // with its transaction open.
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, "idempotency-response-too-large");
        Assert.False(_streamedToEnd);
        Assert.Empty(_ledger.Rows);
        Assert.Equal(Store.TransactionsOpened, Store.TransactionsEnded);
    }

    [Fact]
    public async Task An_exception_handler_inside_the_middleware_that_answers_a_kept_status_still_rolls_back_the_handler_that_threw()
    {
        var client = await StartAsync(inside: app => app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = static context =>
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return context.Response.WriteAsync("rejected");
            },
        }));

        var response = await client.SendAsync(Post("/pay-throws-once", "k1"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("rejected", await response.Content.ReadAsStringAsync());
        Assert.Empty(_ledger.Rows);

        var retry = await client.SendAsync(Post("/pay-throws-once", "k1"));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(["payment 2"], _ledger.Rows);
    }

    [Fact]
    public async Task An_exception_handler_inside_the_middleware_replaces_what_the_failed_handler_had_written_of_its_held_response()
    {
        var client = await StartAsync(inside: app => app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = static context => context.Response.WriteAsync("failed"),
        }));

        var response = await client.SendAsync(Post("/pay-writes-then-throws", "k1"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("failed", await response.Content.ReadAsStringAsync());
        Assert.Empty(_ledger.Rows);
    }

    [Fact]
    public async Task A_key_reused_by_another_caller_runs_for_that_caller_and_never_replays_the_first_callers_response()
    {
        var client = await StartAsync();
        var alice = Post("/pay-per-user", "k1");
        alice.Headers.Add("X-User", "alice");
        var mallory = Post("/pay-per-user", "k1");
        mallory.Headers.Add("X-User", "mallory");

        var first = await client.SendAsync(alice);
        var second = await client.SendAsync(mallory);

        Assert.Equal("{\"payment\":1,\"user\":\"alice\"}", await first.Content.ReadAsStringAsync());
        Assert.Equal("{\"payment\":2,\"user\":\"mallory\"}", await second.Content.ReadAsStringAsync());
        Assert.False(second.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(["payment 1 by alice", "payment 2 by mallory"], _ledger.Rows);
    }

    [Fact]
    public async Task Each_transactions_end_is_counted_by_policy_and_result()
    {
        var client = await StartAsync();
        using var transactions = new MetricCollector<long>(_app!.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.transactions");

        await client.SendAsync(Post("/pay", "committed"));
        await client.SendAsync(Post("/pay-unavailable", "rolled-back"));
        await client.SendAsync(Post("/pay-large", "too-large"));
        Store.FailCommit = true;
        await client.SendAsync(Post("/pay", "commit-failed"));

        var results = transactions.GetMeasurementSnapshot()
            .Select(m => (Policy: (string?)m.Tags["idempotency.policy"], Result: (string?)m.Tags["idempotency.transaction.result"], m.Value))
            .ToList();
        Assert.Equal(
            [("tx", "committed", 1L), ("tx", "rolled_back", 1L), ("tx", "response_too_large", 1L), ("tx", "commit_failed", 1L)],
            results);
    }

    [Fact]
    public async Task Start_up_fails_for_a_transactional_policy_that_fails_open()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(
            () => StartAsync(configure: options => options.AddPolicy("payments", p =>
            {
                p.Transactional = true;
                p.FailOpen = true;
            })));

        Assert.Contains("Policy 'payments'", failure.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(IdempotencyPolicy.FailOpen), failure.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(IdempotencyPolicy.Transactional), failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_disconnects_while_its_request_commits_gets_the_replay_on_its_retry_and_nothing_runs_twice()
    {
        var client = await StartAsync();
        Store.CommitGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var disconnect = new CancellationTokenSource();
        var first = client.SendAsync(Post("/pay", "k1"), disconnect.Token);
        await WaitUntilAsync(() => Store.CommitWaiting);

        disconnect.Cancel();
        await _aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Store.CommitGate.SetResult();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await WaitUntilAsync(() => Volatile.Read(ref Store.TransactionsEnded) == 1);
        Store.CommitGate = null;

        var retry = await client.SendAsync(Post("/pay", "k1"));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, _executions);
        Assert.Equal(["payment 1"], _ledger.Rows);
    }

    [Fact]
    public async Task A_commit_that_does_not_answer_within_StoreTimeout_is_cancelled_before_its_transaction_is_rolled_back_and_answered_503()
    {
        var client = await StartAsync(configure: options => options.StoreTimeout = TimeSpan.FromMilliseconds(300));
        Store.CommitGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var response = await client.SendAsync(Post("/pay", "k1"));

        Store.CommitGate.SetResult();
        var body = await response.Content.ReadAsStringAsync();
        ProblemAssert.IsProblem(response, body, HttpStatusCode.ServiceUnavailable, "idempotency-commit-failed");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.False(response.Headers.Contains("X-Handler"));
        Assert.False(Store.DisposedWhileInUse, "The transaction was rolled back while its commit still ran on it.");
        Assert.Empty(_ledger.Rows);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 10 s.");
            await Task.Delay(10);
        }
    }
}
