using System.Net.Http.Json;
using Idempotency.LoadTest.App;

namespace Idempotency.LoadTest.Runner;

/// <summary>One mode of a bench app process: its loopback port, and a client for seeding and its diagnostics.</summary>
public sealed class BenchAppHost : IDisposable
{
    private readonly BenchAppProcess _process;

    public BenchAppHost(BenchMode mode, int port, BenchAppProcess process)
    {
        Mode = mode;
        Port = port;
        _process = process;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public BenchMode Mode { get; }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    /// <summary>The process that serves this mode, and the other modes of its group.</summary>
    public int ProcessId => _process.ProcessId;

    public HttpClient Client { get; }

    public async Task<BenchStats> ReadStatsAsync(CancellationToken cancellationToken)
        => await Client.GetFromJsonAsync("/_bench/stats", BenchJsonContext.Default.BenchStats, cancellationToken)
            ?? throw new InvalidDataException("The stats endpoint answered null.");

    public async Task ResetPeakAsync(CancellationToken cancellationToken)
    {
        using var response = await Client.PostAsync("/_bench/reset-peak", content: null, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public string LogTail() => _process.LogTail();

    public void Dispose() => Client.Dispose();
}
