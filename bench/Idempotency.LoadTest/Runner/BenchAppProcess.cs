using System.Globalization;
using System.Net.Http.Json;
using Idempotency.LoadTest.App;

namespace Idempotency.LoadTest.Runner;

/// <summary>One bench app process (<c>serve --mode ...</c>) started by the runner on a free loopback port.</summary>
public sealed class BenchAppProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly ChildProcess _process;
    private readonly HttpClient _client;

    private BenchAppProcess(BenchMode mode, int port, ChildProcess process)
    {
        Mode = mode;
        Port = port;
        _process = process;
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public BenchMode Mode { get; }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public int ProcessId => _process.Id;

    public static async Task<BenchAppProcess> StartAsync(BenchMode mode, string? redis, string? database, int maxSeconds, RunDirectory directory, CancellationToken cancellationToken)
    {
        var port = RedisServer.FreePort();
        var (host, prefix) = SelfCommand();
        List<string> arguments =
        [
            .. prefix, "serve", "--mode", BenchModes.Name(mode), "--port", port.ToString(CultureInfo.InvariantCulture),
            "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            "--max-seconds", maxSeconds.ToString(CultureInfo.InvariantCulture),
        ];
        if (redis is not null && mode is BenchMode.Passthrough or BenchMode.Redis or BenchMode.RedisProtected or BenchMode.OutputCache)
        {
            arguments.AddRange(["--redis", redis]);
        }

        if (database is not null)
        {
            arguments.AddRange(["--database", database]);
        }

        var process = ChildProcess.Start("app-" + BenchModes.Name(mode), host, arguments, directory);
        var app = new BenchAppProcess(mode, port, process);
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The {BenchModes.Name(mode)} app exited at start:\n{process.LogTail()}");
            }

            try
            {
                await app.ReadStatsAsync(cancellationToken);
                return app;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    public async Task<BenchStats> ReadStatsAsync(CancellationToken cancellationToken)
        => await _client.GetFromJsonAsync("/_bench/stats", BenchJsonContext.Default.BenchStats, cancellationToken)
            ?? throw new InvalidDataException("The stats endpoint answered null.");

    public async Task ResetPeakAsync(CancellationToken cancellationToken)
    {
        using var response = await _client.PostAsync("/_bench/reset-peak", content: null, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public HttpClient Client => _client;

    public string LogTail() => _process.LogTail();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _process.DisposeAsync();
    }

    /// <summary>How to start this same program again: through <c>dotnet app.dll</c> or through its apphost.</summary>
    private static (string Host, string[] Prefix) SelfCommand()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var assembly = typeof(BenchAppProcess).Assembly.Location;
        return Path.GetFileNameWithoutExtension(host) == "dotnet" ? (host, [assembly]) : (host, []);
    }
}
