using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.OpenApi.Tests.Infrastructure;

/// <summary>
/// A TestServer application that serves <c>/openapi/v1.json</c> with the idempotency transformer, for endpoints mapped
/// by each test. Apart from the document, tests send only requests the middleware turns away before it calls the store.
/// </summary>
public sealed class OpenApiTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OpenApiTestApp(WebApplication app) => _app = app;

    public static async Task<OpenApiTestApp> StartAsync(
        Action<WebApplication> map,
        Action<IdempotencyOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        bool documentIdempotency = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency(options => configure?.Invoke(options));
        builder.Services.AddOpenApi(options =>
        {
            if (documentIdempotency)
            {
                options.AddIdempotency();
            }
        });
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseIdempotency();
        map(app);
        app.MapOpenApi();
        await app.StartAsync();
        return new OpenApiTestApp(app);
    }

    /// <summary>A client for requests the middleware answers before any store call (such as <c>428</c>).</summary>
    public HttpClient CreateClient() => _app.GetTestClient();

    /// <summary>GETs <c>/openapi/v1.json</c> and parses it.</summary>
    public async Task<OpenApiDocumentJson> GetDocumentAsync()
    {
        using var client = _app.GetTestClient();
        using var response = await client.GetAsync("/openapi/v1.json");
        response.EnsureSuccessStatusCode();
        return new OpenApiDocumentJson(JsonDocument.Parse(await response.Content.ReadAsStringAsync()));
    }

    /// <summary>Starts an app, reads its document and stops it.</summary>
    public static async Task<OpenApiDocumentJson> DocumentOfAsync(Action<WebApplication> map, Action<IdempotencyOptions>? configure = null)
    {
        await using var app = await StartAsync(map, configure);
        return await app.GetDocumentAsync();
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
