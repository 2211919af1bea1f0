using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>On Redis Cluster, the <c>WAIT</c> after a completion reaches the primary that took the write, not any node.</summary>
public sealed class RedisClusterReplicaAcknowledgementTests(RedisClusterFixture cluster) : IClassFixture<RedisClusterFixture>
{
    [Fact]
    public async Task Each_completion_waits_on_the_primary_that_holds_its_record()
    {
        var multiplexer = await cluster.GetConnectionAsync();
        var prefix = TestStores.UniquePrefix("cluster-wait");

        // The cluster has no replicas: each WAIT answers 0 after its millisecond, a shortfall the store only reports.
        var store = TestStores.Create(new RedisIdempotencyStoreOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult(multiplexer),
            KeyPrefix = prefix,
            ReplicasToAcknowledge = 1,
            ReplicaAcknowledgeTimeout = TimeSpan.FromMilliseconds(1),
        });

        var nodesUsed = new HashSet<int>();
        for (var i = 0; i < 12; i++)
        {
            var key = Guid.NewGuid().ToString("N");
            var begun = await store.TryBeginAsync(key, new byte[] { 1 }, TimeSpan.FromMinutes(1), CancellationToken.None);
            var before = await WaitCallsAsync();
            Assert.True(await store.CompleteAsync(key, begun.FencingToken, new StoredResponse(200, [], "x"u8.ToArray()), TimeSpan.FromMinutes(1), CancellationToken.None));
            var after = await WaitCallsAsync();

            var owner = await OwnerAsync($"{prefix}{{{key}}}");
            for (var node = 0; node < cluster.Ports.Count; node++)
            {
                Assert.Equal(cluster.Ports[node] == owner ? before[node] + 1 : before[node], after[node]);
            }

            nodesUsed.Add(owner);
        }

        // Twelve random keys on three primaries: more than one node was exercised (all on one has odds of 3 in 3^12).
        Assert.True(nodesUsed.Count > 1, "every record landed on one primary");
    }

    private async Task<long[]> WaitCallsAsync()
    {
        var calls = new long[cluster.Ports.Count];
        for (var node = 0; node < calls.Length; node++)
        {
            calls[node] = (await CommandStats.ReadAsync(cluster.Ports[node])).GetValueOrDefault("wait");
        }

        return calls;
    }

    /// <summary>The port of the primary that holds <paramref name="redisKey"/>: the others answer MOVED.</summary>
    private async Task<int> OwnerAsync(string redisKey)
    {
        foreach (var port in cluster.Ports)
        {
            try
            {
                if ((long)(await cluster.ExecuteAsync(port, "EXISTS", redisKey))! == 1)
                {
                    return port;
                }
            }
            catch (RespErrorException ex) when (ex.Message.StartsWith("MOVED", StringComparison.Ordinal))
            {
                // Another primary's slot.
            }
        }

        throw new InvalidOperationException($"No primary holds {redisKey}.");
    }
}
