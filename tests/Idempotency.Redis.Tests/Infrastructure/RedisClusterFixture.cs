using System.Diagnostics;
using System.Globalization;
using Idempotency.Redis.Internal;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// A Redis Cluster of three primaries (no replicas) from local redis-server processes, each in its own temporary
/// directory with its own nodes file, created with <c>redis-cli --cluster create</c>.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private const int NodeCount = 3;
    private static readonly TimeSpan ClusterReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly List<RedisServerProcess> _nodes = [];
    private ConnectionMultiplexer? _connection;

    public IReadOnlyList<int> Ports => _nodes.ConvertAll(node => node.Port);

    public string ConnectionString => string.Join(',', _nodes.ConvertAll(node => $"127.0.0.1:{node.Port}"));

    public async Task InitializeAsync()
    {
        for (var i = 0; i < NodeCount; i++)
        {
            // The cluster bus port is chosen apart from the client port: the default (port + 10000) overflows for the
            // high ephemeral ports a free-port search returns.
            _nodes.Add(await RedisServerProcess.StartNewAsync(
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000",
                "--cluster-port", RedisServerProcess.GetFreePort().ToString(CultureInfo.InvariantCulture)));
        }

        await CreateClusterAsync();
        await WaitUntilClusterIsReadyAsync();
    }

    public async Task<IConnectionMultiplexer> GetConnectionAsync()
        => _connection ??= await ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration(ConnectionString));

    public Task<object?> ExecuteAsync(int port, params string[] arguments) => Resp.ExecuteAsync(port, arguments);

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private async Task CreateClusterAsync()
    {
        var startInfo = new ProcessStartInfo(RedisBinaries.Cli)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        startInfo.ArgumentList.Add("--cluster");
        startInfo.ArgumentList.Add("create");
        foreach (var node in _nodes)
        {
            startInfo.ArgumentList.Add($"127.0.0.1:{node.Port}");
        }

        startInfo.ArgumentList.Add("--cluster-replicas");
        startInfo.ArgumentList.Add("0");
        startInfo.ArgumentList.Add("--cluster-yes");

        using var cli = Process.Start(startInfo) ?? throw new InvalidOperationException("redis-cli did not start.");
        cli.StandardInput.Close();
        var output = cli.StandardOutput.ReadToEndAsync();
        var error = cli.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ClusterReadyTimeout);
        try
        {
            await cli.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            cli.Kill();
            throw new InvalidOperationException($"redis-cli --cluster create did not finish within {ClusterReadyTimeout}.");
        }

        if (cli.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({cli.ExitCode}):\n{await output}\n{await error}");
        }
    }

    private async Task WaitUntilClusterIsReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        string? lastInfo = null;
        while (deadline.Elapsed < ClusterReadyTimeout)
        {
            var ready = true;
            foreach (var node in _nodes)
            {
                lastInfo = await Resp.ExecuteStringAsync(node.Port, "CLUSTER", "INFO");
                if (!lastInfo.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    ready = false;
                    break;
                }
            }

            if (ready)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"The cluster did not reach cluster_state:ok within {ClusterReadyTimeout}. Last CLUSTER INFO:\n{lastInfo}");
    }
}
