using System.Diagnostics;
using System.Net;
using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;
using Idempotency.Testing;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// The middleware on a Redis server that dies and comes back, as a client sees it: fail closed with a 503 it can retry,
/// never a 500, and recover without restarting the application. The class has a server of its own because it stops it;
/// every test starts it again before it ends.
/// </summary>
[Collection(RealTimeCollection.Name)]
public sealed class MiddlewareFaultTests(RedisServerFixture server, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(15);

    // What the store's fail-fast connection allows; far below the 5 s StoreTimeout that would also end in a 503.
    private static readonly TimeSpan FailFastBound = TimeSpan.FromSeconds(2);

    // How far past StoreTimeout a 503 may come on a busy two-core machine (timer and thread-pool delays).
    private static readonly TimeSpan StoreTimeoutSlack = TimeSpan.FromSeconds(3);

    // Between two attempts of the retry loop below. A real client would honour Retry-After (2 s); a shorter pause
    // measures how soon the application heals.
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    // The requests these tests retry through an outage: a 1 s lease bounds how long a late begin can hold a key.
    private const string RecoveryPath = "/items-short-lease";

    [Fact]
    public async Task While_Redis_is_down_requests_get_503_store_unavailable_and_the_same_app_serves_again_once_Redis_is_back()
    {
        await using var app = await RedisTestApp.StartAsync(server.ConnectionString, TestStores.UniquePrefix("faults"));
        using (var before = await app.Client.SendAsync(RedisTestApp.Post("/items", RedisTestApp.NewKey())))
        {
            Assert.Equal(HttpStatusCode.Created, before.StatusCode);
        }

        var key = RedisTestApp.NewKey();
        await server.StopServerAsync();
        try
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var stopwatch = Stopwatch.StartNew();
                using var down = await app.Client.SendAsync(RedisTestApp.Post(RecoveryPath, key));
                stopwatch.Stop();
                output.WriteLine($"while down, attempt {attempt + 1}: {(int)down.StatusCode} after {stopwatch.Elapsed.TotalMilliseconds:F0} ms");

                await ProblemAssert.IsProblemAsync(down, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
                Assert.Equal(TimeSpan.FromSeconds(2), down.Headers.RetryAfter?.Delta);
                Assert.True(stopwatch.Elapsed < FailFastBound, $"The 503 took {stopwatch.Elapsed}.");
            }

            // Endpoints that do not take part never touch the store, so they keep working through the outage.
            using var plain = await app.Client.SendAsync(RedisTestApp.Post("/plain", key: null));
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            Assert.Equal(0, app.Handlers.Executions($"items:{key}"));
        }
        finally
        {
            await server.StartServerAsync();
        }

        // A client retrying the same request: 503 until the connection has healed, then the operation runs once.
        var recovered = await RetryWhileUnavailableAsync(app, key);

        using (recovered)
        {
            Assert.Equal(HttpStatusCode.Created, recovered.StatusCode);
            using var replay = await app.Client.SendAsync(RedisTestApp.Post(RecoveryPath, key));
            Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
            Assert.Equal(await recovered.Content.ReadAsByteArrayAsync(), await replay.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(1, app.Handlers.Executions($"items:{key}"));
    }

    [Fact]
    public async Task An_app_started_while_Redis_is_down_answers_503_and_serves_once_Redis_is_up()
    {
        var key = RedisTestApp.NewKey();
        RedisTestApp app;
        await server.StopServerAsync();
        try
        {
            app = await RedisTestApp.StartAsync(server.ConnectionString, TestStores.UniquePrefix("faults"));

            // No fail-fast bound on this one: the first request also makes the store's initial connection attempt,
            // which StackExchange.Redis may stretch up to its ConnectTimeout on a busy machine; StoreTimeout (5 s by
            // default) bounds it, including the seconds ConnectAsync spends before it even returns its task.
            var stopwatch = Stopwatch.StartNew();
            using var down = await app.Client.SendAsync(RedisTestApp.Post(RecoveryPath, key));
            stopwatch.Stop();
            output.WriteLine($"first request with Redis never reached: {(int)down.StatusCode} after {stopwatch.Elapsed.TotalMilliseconds:F0} ms");

            await ProblemAssert.IsProblemAsync(down, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
            Assert.NotNull(down.Headers.RetryAfter);
            Assert.True(
                stopwatch.Elapsed < new IdempotencyOptions().StoreTimeout + StoreTimeoutSlack,
                $"The 503 took {stopwatch.Elapsed}: StoreTimeout must bound the first connection attempt too.");
        }
        finally
        {
            await server.StartServerAsync();
        }

        await using (app)
        {
            using var served = await RetryWhileUnavailableAsync(app, key);
            Assert.Equal(HttpStatusCode.Created, served.StatusCode);
            Assert.Equal(1, app.Handlers.Executions($"items:{key}"));
        }
    }

    [Fact]
    public async Task A_begin_that_outlived_StoreTimeout_is_never_sent_later_so_the_retry_after_the_503_runs()
    {
        // The store's first call waits for a connection that arrives only after the middleware has answered 503, as
        // when an application starts while Redis is down and Redis comes back while the connect is still pending.
        var connectionArrives = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration(server.ConnectionString));
        var prefix = TestStores.UniquePrefix("faults");
        await using var app = await RedisTestApp.StartAsync(
            server.ConnectionString,
            prefix,
            configure: options => options.StoreTimeout = TimeSpan.FromMilliseconds(300),
            connectionFactory: async () =>
            {
                await connectionArrives.Task;
                return connection;
            });
        var key = RedisTestApp.NewKey();

        using (var timedOut = await app.Client.SendAsync(RedisTestApp.Post("/items", key)))
        {
            await ProblemAssert.IsProblemAsync(timedOut, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
        }

        connectionArrives.SetResult();
        var abandoned = Assert.Single(app.Store.BeginCalls);
        var abandonedError = await Record.ExceptionAsync(() => abandoned.WaitAsync(TimeSpan.FromSeconds(10)));

        // Only once the abandoned call has ended can no record appear later: a call still pending (WaitAsync's own
        // TimeoutException) would make the check below pass vacuously.
        Assert.True(abandoned.IsCompleted, $"The abandoned begin had not ended 10 s after the connection arrived: {abandonedError}");

        // The 503 told the client nothing was done: no record may appear after it, or the retry would be a 409 for a
        // whole lease although nothing runs.
        Assert.Equal(0L, await server.ExecuteAsync("EXISTS", $"{prefix}{{{app.Store.LastBeginKey}}}"));
        using var retry = await app.Client.SendAsync(RedisTestApp.Post("/items", key));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(1, app.Handlers.Executions($"items:{key}"));
    }

    [Fact]
    public async Task When_Redis_dies_while_the_handler_runs_the_client_still_gets_the_handlers_response()
    {
        await using var app = await RedisTestApp.StartAsync(server.ConnectionString, TestStores.UniquePrefix("faults"));
        var request = app.Client.SendAsync(RedisTestApp.Post("/gate", RedisTestApp.NewKey()));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        HttpResponseMessage response;
        await server.StopServerAsync();
        try
        {
            var stopwatch = Stopwatch.StartNew();
            app.Handlers.Gate.SetResult();
            response = await request;
            stopwatch.Stop();
            output.WriteLine($"response {(int)response.StatusCode} {stopwatch.Elapsed.TotalMilliseconds:F0} ms after the handler was released");
            Assert.True(stopwatch.Elapsed < FailFastBound, $"The response waited {stopwatch.Elapsed} for a dead Redis.");
        }
        finally
        {
            await server.StartServerAsync();
        }

        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("gate execution 1 on A", await response.Content.ReadAsStringAsync());
            Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        }

        // The store was asked to record the response and could not: that, not the client, is what the outage cost.
        Assert.Equal(1, app.Store.Completions);
        Assert.Equal(1, app.Store.CompletionFailures);
        Assert.Equal(1, app.Handlers.Executions("gate"));
    }

    /// <summary>
    /// Sends the same request the way a client honouring Retry-After would, until it is served. Meanwhile every answer
    /// must be 503 store-unavailable or, rarely, 409 in flight (never a 500): a begin the client library had already
    /// queued when its caller gave up can still reach Redis late and hold the key for one lease (docs/contract-notes.md,
    /// "Store timeouts"); the short-lease endpoint keeps that to a second. Bounded, so a connection that never heals
    /// fails the test.
    /// </summary>
    private async Task<HttpResponseMessage> RetryWhileUnavailableAsync(RedisTestApp app, string key)
    {
        var recovery = Stopwatch.StartNew();
        var unavailable = 0;
        var inFlight = 0;
        while (true)
        {
            var response = await app.Client.SendAsync(RedisTestApp.Post(RecoveryPath, key));
            if (response.StatusCode is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.Conflict))
            {
                output.WriteLine($"served {recovery.Elapsed.TotalMilliseconds:F0} ms after Redis (re)started ({unavailable} × 503, {inFlight} × 409 meanwhile)");
                return response;
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.Conflict)
                {
                    await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "idempotency-request-in-flight");
                    inFlight++;
                }
                else
                {
                    await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
                    unavailable++;
                }
            }

            Assert.True(recovery.Elapsed < RecoveryBound, $"Still 503 {recovery.Elapsed} after Redis came back.");
            await Task.Delay(RetryPause);
        }
    }
}
