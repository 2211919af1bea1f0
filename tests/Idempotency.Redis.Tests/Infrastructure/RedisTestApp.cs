using System.Collections.Concurrent;
using System.Globalization;
using Idempotency.Redis.Internal;
using Idempotency.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// A TestServer application running the real idempotency middleware on the Redis store, as an application registers
/// it (<c>AddIdempotency().AddRedisStore(...)</c>, the store's own connection). Several apps given the same server and
/// key prefix act as instances of one service; given the same <see cref="TestEndpoints"/>, their handlers count
/// executions in one place.
/// </summary>
public sealed class RedisTestApp : IAsyncDisposable
{
    /// <summary>The lease of the <c>short-lease</c> policy: short enough to run out while a test holds a handler.</summary>
    public static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(1);

    /// <summary>The body limit of the <c>small</c> policy.</summary>
    public const int SmallSnapshotLimit = 1024;

    private readonly WebApplication _app;

    private RedisTestApp(WebApplication app, string name, TestEndpoints endpoints)
    {
        _app = app;
        Name = name;
        Handlers = endpoints;
        Store = app.Services.GetRequiredService<ObservedStore>();
        Client = app.GetTestClient();
    }

    /// <summary>The instance's name; its handlers put it in their responses.</summary>
    public string Name { get; }

    public HttpClient Client { get; }

    /// <summary>The decorated Redis store of this instance.</summary>
    public ObservedStore Store { get; }

    public TestEndpoints Handlers { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts an instance on the Redis store.</summary>
    /// <param name="redisConfiguration">The Redis server.</param>
    /// <param name="keyPrefix">The store's key prefix; <see langword="null"/> leaves the default (from the application's name).</param>
    /// <param name="endpoints">Handlers shared with other instances, or <see langword="null"/> for new ones.</param>
    /// <param name="name">The instance's name, which its handlers put in their responses.</param>
    /// <param name="configure">Further idempotency options.</param>
    /// <param name="connectionFactory">Supplies the connection instead of the store making its own.</param>
    /// <param name="applicationName">The host's <c>ApplicationName</c>; <see langword="null"/> leaves the host's default.</param>
    /// <param name="time">The middleware's clock; <see langword="null"/> leaves the system clock (Redis keeps its own).</param>
    /// <param name="configureStore">Further Redis store options.</param>
    public static async Task<RedisTestApp> StartAsync(
        string redisConfiguration,
        string? keyPrefix,
        TestEndpoints? endpoints = null,
        string name = "A",
        Action<IdempotencyOptions>? configure = null,
        Func<Task<IConnectionMultiplexer>>? connectionFactory = null,
        string? applicationName = null,
        TimeProvider? time = null,
        Action<RedisIdempotencyStoreOptions>? configureStore = null)
    {
        endpoints ??= new TestEndpoints();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = applicationName });
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        var idempotency = builder.Services.AddIdempotency(options =>
            {
                options.AddPolicy("optional", p => p.KeyRequirement = KeyRequirement.Optional);
                options.AddPolicy("small", p => p.MaxSnapshotBytes = SmallSnapshotLimit);
                options.AddPolicy("short-lease", p => p.Lease = ShortLease);
                configure?.Invoke(options);
            })
            .AddRedisStore(options =>
            {
                // A factory stands in for a connection that takes its time; otherwise the store connects on its own.
                if (connectionFactory is null)
                {
                    options.Configuration = redisConfiguration;
                }
                else
                {
                    options.ConnectionMultiplexerFactory = connectionFactory;
                }

                if (keyPrefix is not null)
                {
                    options.KeyPrefix = keyPrefix;
                }

                configureStore?.Invoke(options);
            });
        DecorateStore(idempotency);

        var app = builder.Build();
        app.UseIdempotency();
        endpoints.Map(app, name);

        await app.StartAsync();
        return new RedisTestApp(app, name, endpoints);
    }

    public static HttpRequestMessage Post(string path, string? key, string body = "{\"amount\":100}", string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        return request;
    }

    /// <summary>A key no other test uses, so tests sharing a server and prefix never meet.</summary>
    public static string NewKey() => $"key-{Guid.NewGuid():N}";

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }

    /// <summary>
    /// Wraps whatever <c>AddRedisStore</c> registered in an <see cref="ObservedStore"/>, as an application adds a
    /// decorator after registering its store. Fails if the registration is not the Redis store, so these tests can never
    /// silently run on another store.
    /// </summary>
    private static void DecorateStore(IIdempotencyBuilder idempotency)
    {
        Assert.Single(idempotency.Services, descriptor => descriptor.ServiceType == typeof(RedisIdempotencyStore));
        idempotency.AddStore(provider => new ObservedStore(ActivatorUtilities.CreateInstance<RedisIdempotencyStore>(provider)));
    }

    /// <summary>The test endpoints and what they observed, shareable between app instances.</summary>
    public sealed class TestEndpoints
    {
        private readonly ConcurrentDictionary<string, int> _executions = new(StringComparer.Ordinal);

        /// <summary>Completed by a test to let gated handlers finish. Read by each handler when it starts.</summary>
        public TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completed when a gated handler has started.</summary>
        public TaskCompletionSource GateEntered { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>How often the handler counted under <paramref name="name"/> ran, on every instance together.</summary>
        public int Executions(string name) => _executions.TryGetValue(name, out var count) ? count : 0;

        /// <summary>Every counter, for tests that check many keys.</summary>
        public IReadOnlyDictionary<string, int> Snapshot() => new Dictionary<string, int>(_executions, StringComparer.Ordinal);

        private int Count(string name) => _executions.AddOrUpdate(name, 1, static (_, count) => count + 1);

        internal void Map(WebApplication app, string host)
        {
            // Counted per idempotency key too, so a test can prove "once per key" for many keys at the same time.
            app.MapPost("/items", (HttpContext context) => ItemsAsync(context, host)).RequireIdempotency();
            app.MapPost("/items-short-lease", (HttpContext context) => ItemsAsync(context, host)).RequireIdempotency("short-lease");

            app.MapPost("/gate", () => GatedAsync("gate", host)).RequireIdempotency();
            app.MapPost("/lease-gate", () => GatedAsync("lease-gate", host)).RequireIdempotency("short-lease");

            app.MapPost("/status/{code:int}", (int code) =>
            {
                var n = Count("status");
                return Results.Text($"status {code} execution {n}", statusCode: code);
            }).RequireIdempotency();

            app.MapPost("/large/{size:int}", async (HttpContext context, int size) =>
            {
                var n = Count("large");
                var payload = new byte[size];
                payload.AsSpan().Fill((byte)('a' + (n % 26)));
                context.Response.ContentType = "application/octet-stream";
                await context.Response.Body.WriteAsync(payload);
            }).RequireIdempotency("small");

            app.MapPost("/optional", () => Results.Text($"optional execution {Count("optional")}")).RequireIdempotency("optional");
            app.MapPost("/plain", () => Results.Text($"plain execution {Count("plain")}"));
        }

        private async Task ItemsAsync(HttpContext context, string host)
        {
            var key = context.Request.Headers["Idempotency-Key"].ToString();
            Count("items");
            var n = Count($"items:{key}");
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.Headers.Location = $"/items/{host}/{n}";
            context.Response.Headers["X-Execution"] = n.ToString(CultureInfo.InvariantCulture);
            context.Response.Headers.Append("X-Multi", new StringValues(["a", "b"]));
            context.Response.Headers.SetCookie = "session=secret";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($"{{\"host\":\"{host}\",\"execution\":{n},\"echo\":{body}}}");
        }

        private async Task<IResult> GatedAsync(string name, string host)
        {
            var n = Count(name);
            var gate = Gate;
            GateEntered.TrySetResult();
            await gate.Task;
            return Results.Text($"{name} execution {n} on {host}");
        }
    }
}
