using System.Globalization;
using Idempotency.LoadTest.App;

namespace Idempotency.LoadTest.Runner;

/// <summary>
/// One bench app process (<c>serve --hosts mode=port,...</c>) started by the runner: it serves a group of modes, each on
/// a free loopback port of its own (<see cref="Hosts"/>).
/// </summary>
public sealed class BenchAppProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly ChildProcess _process;
    private readonly List<BenchAppHost> _hosts = [];

    private BenchAppProcess(string name, ChildProcess process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>The group's name, e.g. <c>http</c>.</summary>
    public string Name { get; }

    public int ProcessId => _process.Id;

    public IReadOnlyList<BenchAppHost> Hosts => _hosts;

    /// <summary>
    /// Starts one process for <paramref name="modes"/>; <paramref name="database"/> gives each database mode its
    /// connection string; <paramref name="serveOptions"/> are more options of <c>serve</c> (the scale run's store limit).
    /// </summary>
    public static async Task<BenchAppProcess> StartAsync(
        string name, IReadOnlyList<BenchMode> modes, string? redis, Func<BenchMode, string?> database, int maxSeconds, RunDirectory directory, CancellationToken cancellationToken,
        IEnumerable<string>? serveOptions = null)
    {
        var ports = modes.Select(_ => RedisServer.FreePort()).ToArray();
        var (host, prefix) = SelfCommand();
        List<string> arguments =
        [
            .. prefix, "serve",
            "--hosts", string.Join(',', modes.Select((mode, i) => $"{BenchModes.Name(mode)}={ports[i].ToString(CultureInfo.InvariantCulture)}")),
            "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            "--max-seconds", maxSeconds.ToString(CultureInfo.InvariantCulture),
        ];
        if (redis is not null && modes.Any(mode => mode is BenchMode.Passthrough or BenchMode.Redis or BenchMode.RedisProtected or BenchMode.RedisLocal or BenchMode.OutputCache))
        {
            arguments.AddRange(["--redis", redis]);
        }

        arguments.AddRange(serveOptions ?? []);
        foreach (var mode in modes)
        {
            if (database(mode) is { } connectionString)
            {
                arguments.AddRange(["--" + BenchServer.DatabaseOption(mode), connectionString]);
            }
        }

        var process = ChildProcess.Start("app-" + name, host, arguments, directory);
        var app = new BenchAppProcess(name, process);
        for (var i = 0; i < modes.Count; i++)
        {
            app._hosts.Add(new BenchAppHost(modes[i], ports[i], app));
        }

        var deadline = DateTime.UtcNow + StartTimeout;
        foreach (var appHost in app._hosts)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (process.HasExited)
                {
                    await app.DisposeAsync();
                    throw new InvalidOperationException($"The {name} app exited at start:\n{process.LogTail()}");
                }

                try
                {
                    await appHost.ReadStatsAsync(cancellationToken);
                    break;
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50, cancellationToken);
                }
            }
        }

        return app;
    }

    public string LogTail() => _process.LogTail();

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            host.Dispose();
        }

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
