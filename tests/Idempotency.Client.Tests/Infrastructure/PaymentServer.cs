using System.Collections.Concurrent;
using System.Threading.Channels;
using Idempotency.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Client.Tests.Infrastructure;

/// <summary>
/// A TestServer running the real idempotency middleware (in-memory store, key mode) in front of <c>POST /payments</c>,
/// an endpoint that counts its executions and can be held until a test releases it.
/// </summary>
public sealed class PaymentServer : IAsyncDisposable
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);

    private readonly Channel<int> _finished = Channel.CreateUnbounded<int>();
    private readonly TaskCompletionSource _executionStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;
    private int _executions;

    private PaymentServer()
    {
    }

    /// <summary>How many times the endpoint ran.</summary>
    public int Executions => Volatile.Read(ref _executions);

    /// <summary>The <c>Idempotency-Key</c> of every request that reached the server, in arrival order.</summary>
    public ConcurrentQueue<string> ReceivedKeys { get; } = new();

    /// <summary>Completes when the endpoint starts running for the first time.</summary>
    public Task ExecutionStarted => _executionStarted.Task;

    /// <param name="holdExecutions">Executions wait for <see cref="ReleaseExecutions"/> before they answer.</param>
    /// <param name="storeUnavailableOnce">The store fails its first call, so the first request gets 503 store-unavailable.</param>
    public static async Task<PaymentServer> StartAsync(bool holdExecutions = false, bool storeUnavailableOnce = false)
    {
        var server = new PaymentServer();
        if (!holdExecutions)
        {
            server.ReleaseExecutions();
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency();
        if (storeUnavailableOnce)
        {
            UnavailableOnceStore.Decorate(builder.Services);
        }

        var app = builder.Build();

        // Before UseIdempotency: sees every request, and finishes only after the middleware has recorded the outcome.
        app.Use(async (context, next) =>
        {
            server.ReceivedKeys.Enqueue(context.Request.Headers["Idempotency-Key"].ToString());
            try
            {
                await next(context);
            }
            finally
            {
                server._finished.Writer.TryWrite(context.Response.StatusCode);
            }
        });
        app.UseIdempotency();
        app.MapPost("/payments", async context =>
        {
            var execution = Interlocked.Increment(ref server._executions);
            server._executionStarted.TrySetResult();
            await server._release.Task;
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.Headers.Location = $"/payments/pay_{execution}";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$"""{"id":"pay_{{execution}}","amount":1250,"currency":"EUR"}""");
        }).RequireIdempotency();

        await app.StartAsync();
        server._app = app;
        return server;
    }

    /// <summary>A primary handler that sends requests into the server in memory.</summary>
    public HttpMessageHandler CreateHandler() => _app!.GetTestServer().CreateHandler();

    public void ReleaseExecutions() => _release.TrySetResult();

    /// <summary>Waits until a request with this final status has passed through the whole server pipeline.</summary>
    public async Task WaitForFinishedRequestAsync(int statusCode)
    {
        using var timeout = new CancellationTokenSource(SignalTimeout);
        while (await _finished.Reader.ReadAsync(timeout.Token) != statusCode)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseExecutions();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>The default store, except that its first call fails as if the store were unreachable.</summary>
    private sealed class UnavailableOnceStore(IIdempotencySequenceStore inner) : IIdempotencySequenceStore, IDisposable
    {
        private int _calls;

        public static void Decorate(IServiceCollection services)
        {
            var descriptor = services.Single(d => d.ServiceType == typeof(IIdempotencyStore));
            services.Remove(descriptor);
            services.AddSingleton<IIdempotencyStore>(sp =>
                new UnavailableOnceStore((IIdempotencySequenceStore)ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!)));
        }

        public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
            => Interlocked.Increment(ref _calls) == 1
                ? ValueTask.FromException<IdempotencyBeginResult>(new IdempotencyStoreUnavailableException("The store is unreachable (simulated)."))
                : inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);

        public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
            => inner.RenewLeaseAsync(key, fencingToken, lease, cancellationToken);

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
            => inner.CompleteAsync(key, fencingToken, response, retention, cancellationToken);

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
            => inner.ReleaseAsync(key, fencingToken, cancellationToken);

        public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
            => inner.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);

        public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
            => inner.RenewSequenceLeaseAsync(streamKey, fencingToken, lease, cancellationToken);

        public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
            => inner.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, cancellationToken);

        public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
            => inner.ReleaseSequenceAsync(streamKey, fencingToken, cancellationToken);

        public void Dispose() => (inner as IDisposable)?.Dispose();
    }
}
