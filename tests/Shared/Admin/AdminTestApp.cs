using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.AdminTests;

/// <summary>
/// A TestServer application with the admin endpoints mapped at <see cref="Pattern"/> behind the <c>operators</c>
/// policy (role <c>operator</c>), contents behind <c>auditors</c> (role <c>auditor</c>), on the store that the test
/// class registers. <c>POST /orders</c> (key mode) and <c>POST /transfers</c> (sequence mode) count their executions;
/// an order with <c>X-Fail</c> answers 500, and <see cref="Gate"/> holds orders in flight.
/// </summary>
internal sealed class AdminTestApp : IAsyncDisposable
{
    public const string Pattern = "/admin/idempotency";

    private readonly WebApplication _app;
    private int _orders;
    private int _transfers;

    private AdminTestApp(WebApplication app)
    {
        _app = app;
        Logs = app.Services.GetRequiredService<FakeLogCollector>();
    }

    public HttpClient Client { get; private set; } = null!;

    public IServiceProvider Services => _app.Services;

    public FakeLogCollector Logs { get; }

    public int OrderExecutions => Volatile.Read(ref _orders);

    public int TransferExecutions => Volatile.Read(ref _transfers);

    /// <summary>When set, an order's handler signals <see cref="Entered"/> and waits for it.</summary>
    public TaskCompletionSource? Gate { get; set; }

    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<AdminTestApp> StartAsync(Action<IIdempotencyBuilder> useStore)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFakeLogging();
        builder.Services.AddAuthentication(AdminTestUserHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, AdminTestUserHandler>(AdminTestUserHandler.SchemeName, null);
        builder.Services.AddAuthorization(options =>
        {
            options.AddPolicy("operators", policy => policy.RequireRole("operator"));
            options.AddPolicy("auditors", policy => policy.RequireRole("auditor"));
        });
        var idempotency = builder.Services.AddIdempotency(options => options.AddPolicy("transfers", policy =>
        {
            policy.SequenceRequirement = SequenceRequirement.Required;
            policy.SequenceWindow = 4;
        }));
        useStore(idempotency);

        var app = builder.Build();
        var test = new AdminTestApp(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseIdempotency();
        app.MapPost("/orders", test.OrderAsync).RequireIdempotency();
        app.MapPost("/transfers", test.TransferAsync).RequireIdempotency("transfers");
        app.MapIdempotencyAdmin(Pattern, options =>
        {
            options.AuthorizationPolicy = "operators";
            options.ContentAuthorizationPolicy = "auditors";
        });
        await app.StartAsync();
        test.Client = app.GetTestClient();
        return test;
    }

    public static HttpRequestMessage Order(string user, string key, bool fail = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent("{\"order\":1001}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Test-User", user);
        request.Headers.Add("Idempotency-Key", key);
        if (fail)
        {
            request.Headers.Add("X-Fail", "1");
        }

        return request;
    }

    public static HttpRequestMessage Transfer(string user, long number)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/transfers") { Content = new StringContent("{\"amount\":" + number + "}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Test-User", user);
        request.Headers.Add("Sequence-Number", number.ToString(CultureInfo.InvariantCulture));
        return request;
    }

    /// <summary>An admin request by <paramref name="user"/> with <paramref name="roles"/>; no user sends it unauthenticated.</summary>
    public static HttpRequestMessage Admin(HttpMethod method, string pathAndQuery, string? user = "ops", string roles = "operator")
    {
        var request = new HttpRequestMessage(method, Pattern + pathAndQuery);
        if (user is not null)
        {
            request.Headers.Add("X-Test-User", user);
            request.Headers.Add("X-Test-Roles", roles);
        }

        return request;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private async Task OrderAsync(HttpContext context)
    {
        var execution = Interlocked.Increment(ref _orders);
        if (Gate is { } gate)
        {
            Entered.TrySetResult();
            await gate.Task;
        }

        if (context.Request.Headers.ContainsKey("X-Fail"))
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }

        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = "/orders/1001";
        await context.Response.WriteAsJsonAsync(new OrderResult("1001", execution));
    }

    private async Task TransferAsync(HttpContext context)
    {
        var execution = Interlocked.Increment(ref _transfers);
        context.Response.StatusCode = StatusCodes.Status201Created;
        await context.Response.WriteAsJsonAsync(new OrderResult(context.Request.Headers["Sequence-Number"].ToString(), execution));
    }

    private sealed record OrderResult(string Id, int Execution);
}
