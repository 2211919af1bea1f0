using DotNet.Testcontainers.Builders;
using Testcontainers.Redis;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Idempotency.Testing.Redis;

/// <summary>
/// A standalone Redis server for one test class: a Testcontainers container when a Docker daemon is reachable,
/// otherwise a local redis-server process. Fails (never skips) when neither can be had. The server can be stopped and
/// started again on the same port for fault tests, so each class that does so must have its own (a class fixture).
/// Shared by the Redis store's tests and the sample's tests; it knows nothing of StackExchange.Redis, so a test
/// project that needs a client connection derives from it (see <c>RedisStoreFixture</c> in Idempotency.Redis.Tests).
/// </summary>
public class RedisServerFixture(IMessageSink diagnostics) : IAsyncLifetime
{
    private const string ContainerImage = "redis:7.2";

    private RedisContainer? _container;
    private RedisServerProcess? _process;

    public int Port { get; private set; }

    /// <summary>A StackExchange.Redis configuration string for the server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Which kind of server backs this fixture, for diagnostics.</summary>
    public string Kind { get; private set; } = "none";

    public async Task InitializeAsync()
    {
        var dockerFailure = await TryStartContainerAsync();
        if (_container is not null)
        {
            return;
        }

        try
        {
            _process = await RedisServerProcess.StartNewAsync();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"No Redis server for the tests. Docker: {dockerFailure}. Local redis-server: {ex.Message}", ex);
        }

        Port = _process.Port;
        Kind = $"local redis-server (pid-managed) on port {Port}";
        diagnostics.OnMessage(new DiagnosticMessage($"Redis tests use {Kind}; Docker: {dockerFailure}"));
    }

    /// <summary>Stops the server as abruptly as the backend allows (a killed process, a stopped container).</summary>
    public async Task StopServerAsync()
    {
        if (_container is not null)
        {
            await _container.StopAsync();
        }
        else
        {
            await _process!.StopAsync();
        }
    }

    /// <summary>Starts the stopped server again on the same port, with empty memory.</summary>
    public async Task StartServerAsync()
    {
        if (_container is not null)
        {
            await _container.StartAsync();
        }
        else
        {
            await _process!.StartAsync();
        }
    }

    /// <summary>Sends one command to the server on a separate socket, outside any StackExchange.Redis connection.</summary>
    public Task<object?> ExecuteAsync(params string[] arguments) => Resp.ExecuteAsync(Port, arguments);

    public virtual async Task DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }

    /// <returns>Why Docker was not used, or null when the container runs.</returns>
    private async Task<string?> TryStartContainerAsync()
    {
        RedisContainer container;
        var port = RedisServerProcess.GetFreePort();
        try
        {
            // A fixed host port, so that a stopped and restarted container is found where the store left it.
            container = new RedisBuilder(ContainerImage).WithPortBinding(port, 6379).Build();
        }
        catch (DockerUnavailableException ex)
        {
            return $"unavailable ({ex.Message.Split('\n')[0]})";
        }

        try
        {
            await container.StartAsync();
        }
        catch (Exception ex)
        {
            // A daemon that cannot pull or run the image (offline machine) is as good as none: use a local server.
            await container.DisposeAsync();
            return $"reachable but the container did not start ({ex.GetType().Name}: {ex.Message.Split('\n')[0]})";
        }

        _container = container;
        Port = port;
        Kind = $"Testcontainers {ContainerImage} on port {Port}";
        diagnostics.OnMessage(new DiagnosticMessage($"Redis tests use {Kind}"));
        return null;
    }
}
