using System.Net.Http.Headers;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Tests.Infrastructure;

/// <summary>
/// A TestServer application with real ASP.NET Core authentication (<see cref="HeaderAuthenticationHandler"/>) and a
/// pipeline the test orders itself, for the rules about who a caller is and where the middleware may stand.
/// </summary>
public sealed class AuthenticatedApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AuthenticatedApp(WebApplication app)
    {
        _app = app;
    }

    public HttpClient Client { get; private set; } = null!;

    /// <summary>How many times <c>POST /charge</c> ran.</summary>
    public int Charges => _charges;

    private int _charges;

    /// <param name="pipeline">Adds the middleware in the order under test; the endpoints are mapped after it.</param>
    public static async Task<AuthenticatedApp> StartAsync(
        Action<WebApplication> pipeline,
        Action<IdempotencyOptions>? configure = null,
        Action<Microsoft.AspNetCore.Authorization.AuthorizationOptions>? authorization = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(HeaderAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization(options => authorization?.Invoke(options));
        builder.Services.AddIdempotency(options => configure?.Invoke(options));

        var app = builder.Build();
        var instance = new AuthenticatedApp(app);
        pipeline(app);
        app.MapPost("/charge", async (HttpContext context) =>
        {
            var n = Interlocked.Increment(ref instance._charges);
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            context.Response.Headers["X-Charged-For"] = context.User.Identity?.Name ?? "nobody";
            return Results.Text($"charge {n} for {context.User.Identity?.Name ?? "nobody"}: {body}", statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency();
        app.MapPost("/secure", () => Results.Text($"secure {Interlocked.Increment(ref instance._charges)}"))
            .RequireIdempotency()
            .RequireAuthorization();
        await app.StartAsync();
        instance.Client = app.GetTestClient();
        return instance;
    }

    public static HttpRequestMessage Charge(string key, string body = "{\"amount\":100}", params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/charge") { Content = new StringContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }
}
