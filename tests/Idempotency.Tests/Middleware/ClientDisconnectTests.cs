using System.Net;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Tests.Middleware;

/// <summary>
/// Once a keyed request's handler has started, a client going away is not a handler failure: the handler runs to its
/// end, its outcome is recorded, and the client's retry gets the replay instead of a second execution.
/// </summary>
public sealed class ClientDisconnectTests
{
    [Fact]
    public async Task A_handler_that_honours_RequestAborted_runs_to_its_end_and_the_retry_gets_the_replay()
    {
        var charge = new SlowCharge();
        await using var app = await charge.StartAsync(configure: null);

        var outcome = await charge.DisconnectMidHandlerAsync(app);
        var retry = await RetryUntilSettledAsync(app);

        Assert.Equal("completed", outcome);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, charge.Charges);
    }

    [Fact]
    public async Task With_CancelHandlerOnDisconnect_the_handler_sees_the_disconnect_and_its_record_is_released()
    {
        var charge = new SlowCharge();
        await using var app = await charge.StartAsync(static o => o.DefaultPolicy.CancelHandlerOnDisconnect = true);

        var outcome = await charge.DisconnectMidHandlerAsync(app);
        var retry = await RetryUntilSettledAsync(app);

        Assert.Equal("cancelled", outcome);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, charge.Charges);
    }

    [Fact]
    public async Task The_handler_still_sees_the_real_token_after_the_middleware_is_done_with_the_request()
    {
        var charge = new SlowCharge();
        await using var app = await charge.StartAsync(configure: null);

        var response = await app.Client.SendAsync(TestApp.Post("/plain", "key-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(charge.OuterTokenCanBeCancelled, "Outside the recorded handler, RequestAborted is the connection's own token.");
    }

    [Fact]
    public async Task A_request_timeout_still_cancels_the_handler()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            services: static services => services.AddRequestTimeouts(),
            beforeIdempotency: static app => app.UseRequestTimeouts(),
            map: app => app.MapPost("/slow", async (HttpContext context) =>
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
                    return Results.Text("finished");
                }
                catch (OperationCanceledException)
                {
                    cancelled.TrySetResult();
                    throw;
                }
            }).RequireIdempotency().WithRequestTimeout(TimeSpan.FromMilliseconds(200)));

        var response = await app.Client.SendAsync(TestApp.Post("/slow", "slow-1")).WaitAsync(TimeSpan.FromSeconds(60));

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
    }

    // A retry right after the first handler finished may still find the record in flight for a moment.
    private static async Task<HttpResponseMessage> RetryUntilSettledAsync(TestApp app)
    {
        for (var attempt = 0; ; attempt++)
        {
            var response = await app.Client.SendAsync(TestApp.Post("/slow-charge", "charge-1"));
            if (response.StatusCode != HttpStatusCode.Conflict || attempt == 200)
            {
                return response;
            }

            await Task.Delay(25);
        }
    }

    private sealed class SlowCharge
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _clientGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<string> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _charges;

        public int Charges => Volatile.Read(ref _charges);

        public bool OuterTokenCanBeCancelled { get; private set; }

        public Task<TestApp> StartAsync(Action<IdempotencyOptions>? configure)
            => TestApp.StartAsync(
                configure,
                services: services => services.AddSingleton<IStartupFilter>(new ConnectionWatcher(this)),
                map: app => app.MapPost("/slow-charge", async (HttpContext context) =>
                {
                    _entered.TrySetResult();
                    try
                    {
                        await _release.Task.WaitAsync(context.RequestAborted);
                        context.RequestAborted.ThrowIfCancellationRequested();
                        Interlocked.Increment(ref _charges);
                        _finished.TrySetResult("completed");
                        return Results.Text("charged", statusCode: StatusCodes.Status201Created);
                    }
                    catch (OperationCanceledException)
                    {
                        _finished.TrySetResult("cancelled");
                        throw;
                    }
                }).RequireIdempotency());

        /// <summary>Starts a charge, drops the connection once its handler runs, then lets the handler go on.</summary>
        public async Task<string> DisconnectMidHandlerAsync(TestApp app)
        {
            using var disconnect = new CancellationTokenSource();
            var send = app.Client.SendAsync(TestApp.Post("/slow-charge", "charge-1"), disconnect.Token);
            await _entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await disconnect.CancelAsync();

            // The connection's own token has fired before the handler is let go, so a handler bound to it would
            // have seen it by then.
            await _clientGone.Task.WaitAsync(TimeSpan.FromSeconds(30));
            _release.TrySetResult();
            var outcome = await _finished.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(TimeSpan.FromSeconds(30)));
            return outcome;
        }

        private sealed class ConnectionWatcher(SlowCharge owner) : IStartupFilter
        {
            public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
            {
                app.Use(async (context, inner) =>
                {
                    var token = context.RequestAborted;
                    owner.OuterTokenCanBeCancelled = token.CanBeCanceled;
                    using var registration = token.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), owner._clientGone);
                    try
                    {
                        await inner(context);
                    }
                    finally
                    {
                        // A handler bound to the token can unwind (and dispose the registration) inside the same Cancel
                        // call, before this registration's callback runs.
                        if (token.IsCancellationRequested)
                        {
                            owner._clientGone.TrySetResult();
                        }
                    }

                    owner.OuterTokenCanBeCancelled = context.RequestAborted.CanBeCanceled;
                });
                next(app);
            };
        }
    }
}
