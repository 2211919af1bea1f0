using BenchmarkDotNet.Attributes;
using Idempotency.Benchmarks.Infrastructure;
using Idempotency.LoadTest.App;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Benchmarks;

/// <summary>
/// One request through routing, the middleware and the load test's order handler, in process (no sockets), with the
/// in-memory store: the per-request CPU and allocations of the middleware with nothing else in the measurement. The
/// baseline is the same pipeline without the middleware; all variants carry a key header so they build the same request.
/// </summary>
public class PipelineBenchmarks
{
    private const int Seeded = 256;

    private byte[] _body = [];
    private App _baseline = null!;
    private App _idempotent = null!;
    private long _next;

    [Params(100, 4 * 1024, 64 * 1024)]
    public int BodySize { get; set; }

    /// <summary>
    /// The realistic handler (deserializes, prices and serializes an order) or the trivial one (a constant object, body
    /// unread), behind which the difference to the baseline is the middleware's own cost.
    /// </summary>
    [Params("realistic", "trivial")]
    public string Handler { get; set; } = "realistic";

    [GlobalSetup]
    public async Task Setup()
    {
        _body = OrderHandlers.CreateRequestBody(BodySize);
        RequestDelegate handler = Handler == "trivial" ? OrderHandlers.CreateTrivialAsync : OrderHandlers.CreateAsync;
        _baseline = App.Create(idempotency: false, handler);
        _idempotent = App.Create(idempotency: true, handler);
        for (var i = 0; i < Seeded; i++)
        {
            var status = await _idempotent.SendAsync("/orders", _body, $"seed-{i}");
            if (status != StatusCodes.Status201Created)
            {
                throw new InvalidOperationException($"Seeding answered {status}.");
            }
        }
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _baseline.DisposeAsync();
        await _idempotent.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<int> Baseline() => _baseline.SendAsync("/orders", _body, NextKey());

    /// <summary>Optional-key policy, no key: the middleware resolves the policy, finds no key and calls the handler.</summary>
    [Benchmark]
    public Task<int> PassThrough() => _idempotent.SendAsync("/orders/optional", _body, key: null);

    /// <summary>A new key: fingerprint, begin, capture, complete.</summary>
    [Benchmark]
    public Task<int> MemoryFirst() => _idempotent.SendAsync("/orders/unique", _body, NextKey());

    /// <summary>A stored key: fingerprint, begin, replay; the handler does not run.</summary>
    [Benchmark]
    public Task<int> MemoryReplay() => _idempotent.SendAsync("/orders", _body, $"seed-{Interlocked.Increment(ref _next) % Seeded}");

    private string NextKey() => $"key-{Interlocked.Increment(ref _next)}";

    private sealed class App : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly RequestDelegate _pipeline;

        private App(WebApplication app, RequestDelegate pipeline)
        {
            _app = app;
            _pipeline = pipeline;
        }

        public static App Create(bool idempotency, RequestDelegate handler)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            if (idempotency)
            {
                builder.Services.AddIdempotency(options =>
                {
                    options.AddPolicy("retained", policy => policy.Retention = TimeSpan.FromHours(1));
                    options.AddPolicy("optional", policy => policy.KeyRequirement = KeyRequirement.Optional);

                    // Millions of first executions: a short retention and a frequent sweep keep the store small.
                    options.AddPolicy("unique", policy =>
                    {
                        policy.Lease = TimeSpan.FromSeconds(1);
                        policy.Retention = TimeSpan.FromSeconds(1);
                    });
                }).AddInMemoryStore(store =>
                {
                    store.SizeLimitBytes = 4L * 1024 * 1024 * 1024;
                    store.ExpirationScanInterval = TimeSpan.FromSeconds(1);
                });
            }

            var app = builder.Build();
            app.UseRouting();
            if (idempotency)
            {
                app.UseIdempotency();
                app.MapPost("/orders", handler).RequireIdempotency("retained");
                app.MapPost("/orders/optional", handler).RequireIdempotency("optional");
                app.MapPost("/orders/unique", handler).RequireIdempotency("unique");
            }
            else
            {
                app.MapPost("/orders", handler);
            }

            // Not started as a host: the pipeline is built by hand and invoked directly, so the endpoint middleware is
            // added here instead of by the host.
            app.UseEndpoints(static _ => { });
            return new App(app, ((IApplicationBuilder)app).Build());
        }

        public async Task<int> SendAsync(string path, byte[] body, string? key)
        {
            var context = Requests.Post(path, body, key, _app.Services);
            await _pipeline(context);
            await Requests.CompleteAsync(context);
            return context.Response.StatusCode;
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
