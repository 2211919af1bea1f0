using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Infrastructure;

/// <summary>
/// A TestServer application with idempotent endpoints that count their executions. Requests carry their principal
/// in an <c>X-Test-User</c> header, turned into a <c>sub</c> claim before the idempotency middleware runs.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestApp(WebApplication app, FaultyStore store, Endpoints endpoints, FakeTimeProvider? time)
    {
        _app = app;
        Store = store;
        Handlers = endpoints;
        Time = time;
        Client = app.GetTestClient();
    }

    public HttpClient Client { get; }

    /// <summary>The server, for requests HttpClient cannot express (such as an empty header value).</summary>
    public TestServer Server => _app.GetTestServer();

    public FaultyStore Store { get; }

    public Endpoints Handlers { get; }

    public FakeTimeProvider? Time { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<TestApp> StartAsync(
        Action<IdempotencyOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? map = null,
        FakeTimeProvider? time = null,
        Action<WebApplication>? beforeIdempotency = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        if (time is not null)
        {
            builder.Services.AddSingleton<TimeProvider>(time);
        }

        builder.Services.AddIdempotency(options =>
        {
            options.AddPolicy("optional", p => p.KeyRequirement = KeyRequirement.Optional);
            options.AddPolicy("small", p => p.MaxSnapshotBytes = 1024);
            options.AddPolicy("canonical", p => p.CanonicalJsonFingerprint = true);
            options.AddPolicy("wait", p =>
            {
                p.ConcurrentRequests = ConcurrentRequestHandling.Wait;
                p.ConcurrentWaitTimeout = TimeSpan.FromSeconds(10);
            });
            options.AddPolicy("server-errors", p => p.StoreServerErrors = true);
            options.AddPolicy("fail-open", p => p.FailOpen = true);
            options.AddPolicy("short-lease", p => p.Lease = TimeSpan.FromSeconds(3));
            options.AddPolicy("sequence", p =>
            {
                p.SequenceRequirement = SequenceRequirement.Required;
                p.SequenceWindow = 3;
            });
            options.AddPolicy("sequence-optional", p => p.SequenceRequirement = SequenceRequirement.Optional);
            options.AddPolicy("sequence-reorder", p =>
            {
                p.SequenceRequirement = SequenceRequirement.Required;
                p.ReorderWait = TimeSpan.FromSeconds(5);
            });
            options.AddPolicy("sequence-route", p =>
            {
                p.SequenceRequirement = SequenceRequirement.Required;
                p.SequenceStreamResolver = static arguments => ValueTask.FromResult(arguments.Context.Request.RouteValues["account"] as string);
            });
            configure?.Invoke(options);
        });
        builder.Services.AddSingleton(sp => new FaultyStore(ActivatorUtilities.CreateInstance<InMemoryIdempotencyStore>(sp)));
        builder.Services.AddSingleton<IIdempotencyStore>(sp => sp.GetRequiredService<FaultyStore>());
        builder.Services.AddSingleton<Endpoints>();
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.Use(static (context, next) =>
        {
            if (context.Request.Headers.TryGetValue("X-Test-User", out var user))
            {
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", user.ToString())], "test"));
            }

            return next(context);
        });
        beforeIdempotency?.Invoke(app);
        app.UseIdempotency();
        var endpoints = app.Services.GetRequiredService<Endpoints>();
        endpoints.Map(app);
        map?.Invoke(app);

        await app.StartAsync();
        return new TestApp(app, app.Services.GetRequiredService<FaultyStore>(), endpoints, time);
    }

    public static HttpRequestMessage Post(string path, string? key, string body = "{\"amount\":100}", string contentType = "application/json", string? user = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        if (user is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Test-User", user);
        }

        return request;
    }

    public static HttpRequestMessage Sequenced(string path, long? number, long? epoch = null, string? stream = null, string body = "{\"amount\":100}", string? key = null, string? user = null)
    {
        var request = Post(path, key, body, user: user);
        if (number is not null)
        {
            request.Headers.TryAddWithoutValidation("Sequence-Number", number.Value.ToString(CultureInfo.InvariantCulture));
        }

        if (epoch is not null)
        {
            request.Headers.TryAddWithoutValidation("Sequence-Epoch", epoch.Value.ToString(CultureInfo.InvariantCulture));
        }

        if (stream is not null)
        {
            request.Headers.TryAddWithoutValidation("Sequence-Stream", stream);
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }

    /// <summary>The test endpoints and what they observed.</summary>
    public sealed class Endpoints
    {
        private readonly ConcurrentDictionary<string, int> _executions = new();

        /// <summary>Completed by a test to let <c>/gate</c> handlers finish.</summary>
        public TaskCompletionSource Gate { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completed when a <c>/gate</c> handler has started.</summary>
        public TaskCompletionSource GateEntered { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Sequence numbers in the order their handlers ran.</summary>
        public ConcurrentQueue<string> Applied { get; } = new();

        public int Executions(string name) => _executions.TryGetValue(name, out var count) ? count : 0;

        public int Count(string name) => _executions.AddOrUpdate(name, 1, static (_, count) => count + 1);

        /// <summary>An endpoint that signals <see cref="GateEntered"/> and then waits for <see cref="Gate"/>.</summary>
        private RouteHandlerBuilder MapGate(WebApplication app, string path, string label)
        {
            var name = path.TrimStart('/');
            return app.MapPost(path, async () =>
            {
                var n = Count(name);
                GateEntered.TrySetResult();
                await Gate.Task;
                return Results.Text($"{label} execution {n}");
            });
        }

        internal void Map(WebApplication app)
        {
            app.MapPost("/items", async (HttpContext context) =>
            {
                var n = Count("items");
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                context.Response.StatusCode = StatusCodes.Status201Created;
                context.Response.Headers["X-Execution"] = n.ToString(CultureInfo.InvariantCulture);
                context.Response.Headers.Append("X-Multi", new Microsoft.Extensions.Primitives.StringValues(["a", "b"]));
                context.Response.Headers.SetCookie = "session=secret";
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($"{{\"execution\":{n},\"echo\":{body}}}");
            }).RequireIdempotency();

            app.MapPost("/other", (HttpContext context) =>
            {
                Count("other");
                return Results.Ok();
            }).RequireIdempotency();

            app.MapPost("/status/{code:int}", (int code) =>
            {
                var n = Count("status");
                return Results.Text($"status {code} execution {n}", statusCode: code);
            }).RequireIdempotency();

            app.MapPost("/server-errors/{code:int}", (int code) =>
            {
                var n = Count("server-errors");
                return Results.Text($"status {code} execution {n}", statusCode: code);
            }).RequireIdempotency("server-errors");

            app.MapPost("/throw", (HttpContext _) =>
            {
                Count("throw");
                throw new InvalidOperationException("handler failed");
            }).RequireIdempotency();

            MapGate(app, "/gate", "gate").RequireIdempotency();

            MapGate(app, "/gate-wait", "gate").RequireIdempotency("wait");

            MapGate(app, "/gate-short", "gate").RequireIdempotency("short-lease");

            app.MapPost("/large/{size:int}", async (HttpContext context, int size) =>
            {
                var n = Count("large");
                var payload = new byte[size];
                payload.AsSpan().Fill((byte)('a' + (n % 26)));
                context.Response.ContentType = "application/octet-stream";
                await context.Response.Body.WriteAsync(payload);
            }).RequireIdempotency("small");

            app.MapPost("/seq", async (HttpContext context) =>
            {
                var n = Count("seq");
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                Applied.Enqueue(context.Request.Headers["Sequence-Number"].ToString());
                return Results.Text($"seq {context.Request.Headers["Sequence-Number"]} execution {n} body {body}", statusCode: 201);
            }).RequireIdempotency("sequence");

            app.MapPost("/seq-status/{code:int}", (HttpContext context, int code) =>
            {
                var n = Count("seq-status");
                return Results.Text($"seq {context.Request.Headers["Sequence-Number"]} status {code} execution {n}", statusCode: code);
            }).RequireIdempotency("sequence");

            MapGate(app, "/seq-gate", "seq-gate").RequireIdempotency("sequence");

            app.MapPost("/seq-optional", () => Results.Text($"seq-optional execution {Count("seq-optional")}")).RequireIdempotency("sequence-optional");
            app.MapPost("/seq-reorder", (HttpContext context) =>
            {
                Applied.Enqueue(context.Request.Headers["Sequence-Number"].ToString());
                return Results.Text($"seq-reorder execution {Count("seq-reorder")}");
            }).RequireIdempotency("sequence-reorder");
            app.MapPost("/accounts/{account}/seq", (string account) => Results.Text($"{account} execution {Count("account-" + account)}")).RequireIdempotency("sequence-route");

            app.MapPost("/optional", () => Results.Text($"optional execution {Count("optional")}")).RequireIdempotency("optional");
            app.MapPost("/canonical", () => Results.Text($"canonical execution {Count("canonical")}")).RequireIdempotency("canonical");
            app.MapPost("/fail-open", () => Results.Text($"fail-open execution {Count("fail-open")}")).RequireIdempotency("fail-open");
            app.MapPost("/plain", () => Results.Text($"plain execution {Count("plain")}"));

            var group = app.MapGroup("/group").RequireIdempotency();
            group.MapPost("/protected", () => Results.Text($"protected execution {Count("group-protected")}"));
            group.MapPost("/excluded", () => Results.Text($"excluded execution {Count("group-excluded")}")).DisableIdempotency();
        }
    }
}
