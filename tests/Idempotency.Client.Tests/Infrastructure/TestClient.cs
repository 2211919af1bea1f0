using Idempotency.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Client.Tests.Infrastructure;

/// <summary>An HttpClient built by IHttpClientFactory with the idempotency handler in front of a <see cref="RecordingHandler"/>.</summary>
public sealed class TestClient : IDisposable
{
    public const string Name = "payments";

    private readonly ServiceProvider _services;

    public TestClient(
        Action<IdempotencyClientOptions>? configure = null,
        Action<IHttpClientBuilder>? more = null,
        RecordingHandler? server = null)
    {
        Server = server ?? new RecordingHandler();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        var builder = services.AddHttpClient(Name, c => c.BaseAddress = new Uri("http://payments.test"))
            .AddIdempotencyKeys(configure)
            .ConfigurePrimaryHttpMessageHandler(() => Server);
        more?.Invoke(builder);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        Client = _services.GetRequiredService<IHttpClientFactory>().CreateClient(Name);
    }

    public SignalingTimeProvider Time { get; } = new();

    public RecordingHandler Server { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _services;

    public static HttpRequestMessage Post(string path = "/payments", string body = """{"amount":100}""")
        => new(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };

    public void Dispose()
    {
        Client.Dispose();
        _services.Dispose();
    }
}
