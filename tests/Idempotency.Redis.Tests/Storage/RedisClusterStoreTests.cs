using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;

namespace Idempotency.Redis.Tests.Storage;

public sealed class RedisClusterStoreTests(RedisClusterFixture cluster) : IClassFixture<RedisClusterFixture>
{
    [Fact]
    public async Task Records_spread_over_every_primary_and_each_stays_in_its_own_slot()
    {
        var prefix = TestStores.UniquePrefix("cluster-spread");
        var store = TestStores.Create(await cluster.GetConnectionAsync(), prefix);
        var keys = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var key = Guid.NewGuid().ToString("N");
            keys.Add(key);
            var begun = await store.TryBeginAsync(key, new byte[] { 1 }, TimeSpan.FromMinutes(1), CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
            Assert.True(await store.CompleteAsync(key, begun.FencingToken, new StoredResponse(200, [], "x"u8.ToArray()), TimeSpan.FromMinutes(1), CancellationToken.None));
        }

        // The record key is the hash tag: the full Redis key hashes to the slot of the record key alone.
        foreach (var key in keys)
        {
            Assert.Equal(
                await cluster.ExecuteAsync(cluster.Ports[0], "CLUSTER", "KEYSLOT", key),
                await cluster.ExecuteAsync(cluster.Ports[0], "CLUSTER", "KEYSLOT", $"{prefix}{{{key}}}"));
        }

        foreach (var port in cluster.Ports)
        {
            Assert.True((long)(await cluster.ExecuteAsync(port, "DBSIZE"))! > 0, $"the primary on port {port} holds no record");
        }
    }

    [Fact]
    public async Task Streams_spread_over_every_primary_and_each_stays_in_the_slot_of_its_stream_key()
    {
        var prefix = TestStores.UniquePrefix("cluster-streams");
        var store = TestStores.Create(await cluster.GetConnectionAsync(), prefix);
        var streams = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var stream = Guid.NewGuid().ToString("N");
            streams.Add(stream);
            for (var number = 1; number <= 2; number++)
            {
                var begun = await store.TryBeginSequenceAsync(stream, 0, number, new byte[] { (byte)number }, TimeSpan.FromMinutes(1), CancellationToken.None);
                Assert.Equal(SequenceBeginStatus.Acquired, begun.Status);
                Assert.True(await store.CompleteSequenceAsync(stream, begun.FencingToken, new StoredResponse(200, [], "x"u8.ToArray()), 1, TimeSpan.FromMinutes(1), CancellationToken.None));
            }

            Assert.Equal(SequenceBeginStatus.Completed, (await store.TryBeginSequenceAsync(stream, 0, 2, new byte[] { 2 }, TimeSpan.FromMinutes(1), CancellationToken.None)).Status);
        }

        foreach (var stream in streams)
        {
            Assert.Equal(
                await cluster.ExecuteAsync(cluster.Ports[0], "CLUSTER", "KEYSLOT", stream),
                await cluster.ExecuteAsync(cluster.Ports[0], "CLUSTER", "KEYSLOT", $"{prefix}{{{stream}}}:s"));
        }

        foreach (var port in cluster.Ports)
        {
            Assert.True((long)(await cluster.ExecuteAsync(port, "DBSIZE"))! > 0, $"the primary on port {port} holds no stream");
        }
    }
}
