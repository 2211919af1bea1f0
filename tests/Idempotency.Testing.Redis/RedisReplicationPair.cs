using System.Diagnostics;
using System.Globalization;

namespace Idempotency.Testing.Redis;

/// <summary>
/// A primary and one replica, two local redis-server processes, the replica replicating through a
/// <see cref="ReplicationLinkProxy"/> so that tests choose how far it lags. The primary can be killed (SIGKILL, by the
/// PID this class started) and the replica promoted with <c>REPLICAOF NO ONE</c>, as a manual failover does. Local
/// processes only: a crash and a lagging link are not something a container backend can give every test machine.
/// </summary>
public sealed class RedisReplicationPair : IAsyncDisposable
{
    private static readonly TimeSpan SyncTimeout = TimeSpan.FromSeconds(15);

    private RedisReplicationPair(RedisServerProcess primary, ReplicationLinkProxy link, RedisServerProcess replica)
    {
        Primary = primary;
        Link = link;
        Replica = replica;
    }

    public RedisServerProcess Primary { get; }

    public ReplicationLinkProxy Link { get; }

    public RedisServerProcess Replica { get; }

    /// <summary>A StackExchange.Redis configuration string for the primary alone.</summary>
    public string PrimaryConnectionString => $"127.0.0.1:{Primary.Port}";

    /// <summary>A StackExchange.Redis configuration string for the replica alone (the new primary after a promotion).</summary>
    public string ReplicaConnectionString => $"127.0.0.1:{Replica.Port}";

    /// <summary>Starts both servers and waits until the replica has synchronized with the primary.</summary>
    /// <param name="linkDelay">How long the link holds what the primary sends before the replica gets it.</param>
    public static async Task<RedisReplicationPair> StartAsync(TimeSpan linkDelay)
    {
        // No diskless-sync delay (5 s by default): the replica's first full synchronization starts at once.
        var primary = await RedisServerProcess.StartNewAsync("--repl-diskless-sync-delay", "0");
        ReplicationLinkProxy? link = null;
        RedisServerProcess? replica = null;
        try
        {
            link = new ReplicationLinkProxy(primary.Port, linkDelay);
            replica = await RedisServerProcess.StartNewAsync(
                "--replicaof", "127.0.0.1", link.Port.ToString(CultureInfo.InvariantCulture), "--repl-diskless-sync-delay", "0");
            var pair = new RedisReplicationPair(primary, link, replica);
            await pair.WaitForReplicaLinkAsync();
            return pair;
        }
        catch
        {
            if (replica is not null)
            {
                await replica.DisposeAsync();
            }

            if (link is not null)
            {
                await link.DisposeAsync();
            }

            await primary.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the primary with SIGKILL, as a crash: what it had not sent its replica is lost.</summary>
    public Task KillPrimaryAsync() => Primary.StopAsync();

    /// <summary>Makes the replica a primary (<c>REPLICAOF NO ONE</c>) and waits until it accepts writes.</summary>
    public async Task PromoteReplicaAsync()
    {
        await Resp.ExecuteAsync(Replica.Port, "REPLICAOF", "NO", "ONE");
        await WaitForAsync(async () => (await ReplicationInfoAsync(Replica.Port)).Contains("role:master", StringComparison.Ordinal), "the replica to become a primary");
    }

    public async ValueTask DisposeAsync()
    {
        await Replica.DisposeAsync();
        await Link.DisposeAsync();
        await Primary.DisposeAsync();
    }

    private Task WaitForReplicaLinkAsync()
        => WaitForAsync(async () => (await ReplicationInfoAsync(Replica.Port)).Contains("master_link_status:up", StringComparison.Ordinal), "the replica to synchronize");

    private static async Task<string> ReplicationInfoAsync(int port) => await Resp.ExecuteStringAsync(port, "INFO", "replication");

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var elapsed = Stopwatch.StartNew();
        while (!await condition())
        {
            if (elapsed.Elapsed > SyncTimeout)
            {
                throw new TimeoutException($"Timed out after {SyncTimeout} waiting for {what}.");
            }

            await Task.Delay(20);
        }
    }
}
