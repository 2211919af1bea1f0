using System.Globalization;
using System.Text;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>What the Redis store keeps in Redis and how it fences, beyond the shared conformance suite.</summary>
[Collection(RealTimeCollection.Name)]
public sealed class RedisStoreTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>
{
    private static readonly byte[] Fingerprint = [0xAB, 0x00, 0xCD];
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    private readonly string _keyPrefix = TestStores.UniquePrefix("store");

    private async Task<IIdempotencyStore> CreateStoreAsync() => TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);

    private string RedisKey(string recordKey) => $"{_keyPrefix}{{{recordKey}}}";

    private async Task<Dictionary<string, string>> ReadHashAsync(string recordKey)
    {
        var flat = (object?[])(await server.ExecuteAsync("HGETALL", RedisKey(recordKey)))!;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < flat.Length; i += 2)
        {
            fields[(string)flat[i]!] = (string)flat[i + 1]!;
        }

        return fields;
    }

    private async Task<long> PttlAsync(string recordKey) => (long)(await server.ExecuteAsync("PTTL", RedisKey(recordKey)))!;

    [Fact]
    public async Task An_in_flight_record_is_one_hash_under_the_hash_tagged_key_that_expires_with_the_lease()
    {
        var store = await CreateStoreAsync();

        var begun = await store.TryBeginAsync("layout", Fingerprint, Lease, CancellationToken.None);

        var fields = await ReadHashAsync("layout");
        Assert.Equal(["f", "s", "t"], fields.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("i", fields["s"]);
        Assert.Equal(begun.FencingToken.ToString(CultureInfo.InvariantCulture), fields["t"]);
        Assert.InRange(await PttlAsync("layout"), 1, (long)Lease.TotalMilliseconds);
    }

    [Fact]
    public async Task A_completed_record_keeps_one_snapshot_field_and_expires_with_the_retention()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginAsync("completed", Fingerprint, Lease, CancellationToken.None);

        Assert.True(await store.CompleteAsync("completed", begun.FencingToken, new StoredResponse(200, [], "ok"u8.ToArray()), Retention, CancellationToken.None));

        var fields = await ReadHashAsync("completed");
        Assert.Equal(["f", "r", "s"], fields.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("c", fields["s"]);
        Assert.InRange(await PttlAsync("completed"), (long)Lease.TotalMilliseconds + 1, (long)Retention.TotalMilliseconds);
    }

    [Fact]
    public async Task A_snapshot_with_every_byte_value_and_multi_value_headers_replays_exactly()
    {
        var store = await CreateStoreAsync();
        var body = new byte[256 * 4];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)i;
        }

        var response = new StoredResponse(201, [new("Vary", new StringValues(["Accept", "Accept-Language"])), new("Location", "/x")], body);
        var begun = await store.TryBeginAsync("bytes", Fingerprint, Lease, CancellationToken.None);
        await store.CompleteAsync("bytes", begun.FencingToken, response, Retention, CancellationToken.None);

        var replay = await store.TryBeginAsync("bytes", Fingerprint, Lease, CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
        Assert.Equal(201, replay.Response!.StatusCode);
        Assert.Equal(body, replay.Response.Body.ToArray());
        Assert.Equal(new[] { "Accept", "Accept-Language" }, replay.Response.Headers[0].Value.ToArray());
        Assert.Equal("/x", replay.Response.Headers[1].Value.ToString());
    }

    [Fact]
    public async Task A_response_whose_body_was_not_stored_replays_as_not_stored()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginAsync("unstored", Fingerprint, Lease, CancellationToken.None);
        await store.CompleteAsync("unstored", begun.FencingToken, new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false), Retention, CancellationToken.None);

        var replay = await store.TryBeginAsync("unstored", Fingerprint, Lease, CancellationToken.None);

        Assert.False(replay.Response!.IsBodyStored);
    }

    [Fact]
    public async Task A_fingerprint_is_compared_byte_for_byte()
    {
        var store = await CreateStoreAsync();
        await store.TryBeginAsync("binary", new byte[] { 0x00, 0xFF, 0x00 }, Lease, CancellationToken.None);

        var other = await store.TryBeginAsync("binary", new byte[] { 0x00, 0xFF, 0x01 }, Lease, CancellationToken.None);
        var same = await store.TryBeginAsync("binary", new byte[] { 0x00, 0xFF, 0x00 }, Lease, CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.FingerprintMismatch, other.Status);
        Assert.Equal(IdempotencyBeginStatus.InFlight, same.Status);
    }

    [Fact]
    public async Task Tokens_differ_across_an_expired_and_recreated_record_so_the_late_owner_is_fenced_off()
    {
        var store = await CreateStoreAsync();
        // Each owner's lease must outlive the checks made right after its begin (five round trips), even on a busy
        // machine, and still run out in the wait that follows.
        var shortLease = TimeSpan.FromSeconds(2);
        var tokens = new HashSet<long>();
        IdempotencyBeginResult previous = default;
        for (var i = 0; i < 3; i++)
        {
            var begun = await store.TryBeginAsync("recreated", Fingerprint, shortLease, CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
            Assert.True(tokens.Add(begun.FencingToken), "a recreated record reused a fencing token");
            if (i > 0)
            {
                // The owner whose lease ran out comes back late: nothing it does may touch the new owner's record.
                Assert.False(await store.RenewLeaseAsync("recreated", previous.FencingToken, Lease, CancellationToken.None));
                Assert.False(await store.CompleteAsync("recreated", previous.FencingToken, new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty), Retention, CancellationToken.None));
                Assert.False(await store.ReleaseAsync("recreated", previous.FencingToken, CancellationToken.None));
                Assert.Equal(begun.FencingToken.ToString(CultureInfo.InvariantCulture), (await ReadHashAsync("recreated"))["t"]);
            }

            previous = begun;
            await RealTime.WaitAsync(shortLease);
        }
    }

    [Fact]
    public async Task Tokens_that_differ_only_beyond_double_precision_are_told_apart()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginAsync("precision", Fingerprint, Lease, CancellationToken.None);

        // The nearest neighbour a Lua double could not distinguish from the real token (for tokens above 2^53).
        var impostor = begun.FencingToken ^ 1;

        Assert.False(await store.CompleteAsync("precision", impostor, new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty), Retention, CancellationToken.None));
        Assert.True(await store.CompleteAsync("precision", begun.FencingToken, new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty), Retention, CancellationToken.None));
    }

    [Fact]
    public async Task A_completed_record_cannot_be_completed_again_even_by_its_owner()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginAsync("twice", Fingerprint, Lease, CancellationToken.None);
        await store.CompleteAsync("twice", begun.FencingToken, new StoredResponse(200, [], "first"u8.ToArray()), Retention, CancellationToken.None);

        Assert.False(await store.CompleteAsync("twice", begun.FencingToken, new StoredResponse(500, [], "second"u8.ToArray()), Retention, CancellationToken.None));
        Assert.False(await store.ReleaseAsync("twice", begun.FencingToken, CancellationToken.None));
        Assert.False(await store.RenewLeaseAsync("twice", begun.FencingToken, Lease, CancellationToken.None));

        var replay = await store.TryBeginAsync("twice", Fingerprint, Lease, CancellationToken.None);
        Assert.Equal("first"u8.ToArray(), replay.Response!.Body.ToArray());
    }

    [Fact]
    public async Task Renew_extends_the_expiry_of_the_record()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginAsync("renew", Fingerprint, TimeSpan.FromSeconds(2), CancellationToken.None);

        Assert.True(await store.RenewLeaseAsync("renew", begun.FencingToken, TimeSpan.FromMinutes(10), CancellationToken.None));

        Assert.InRange(await PttlAsync("renew"), (long)TimeSpan.FromMinutes(9).TotalMilliseconds, (long)TimeSpan.FromMinutes(10).TotalMilliseconds);
    }

    [Fact]
    public async Task Release_deletes_the_key()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginAsync("released", Fingerprint, Lease, CancellationToken.None);

        Assert.True(await store.ReleaseAsync("released", begun.FencingToken, CancellationToken.None));

        Assert.Equal(0L, await server.ExecuteAsync("EXISTS", RedisKey("released")));
    }

    [Fact]
    public async Task Durations_are_validated_before_anything_is_sent()
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginAsync("invalid", Fingerprint, TimeSpan.Zero, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.CompleteAsync("invalid", 1, new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty), TimeSpan.FromSeconds(-1), CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => store.TryBeginAsync("", Fingerprint, Lease, CancellationToken.None).AsTask());
        Assert.Equal(0L, await server.ExecuteAsync("EXISTS", RedisKey("invalid")));
    }

    [Fact]
    public async Task A_sub_millisecond_lease_still_creates_a_record_instead_of_deleting_it()
    {
        var store = await CreateStoreAsync();

        var begun = await store.TryBeginAsync("tiny", Fingerprint, TimeSpan.FromTicks(1), CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
    }

    [Fact]
    public async Task Concurrent_operations_on_many_records_each_store_and_replay_their_own_response()
    {
        // The store reuses its key and argument arrays from one command to the next (RedisScriptArguments): commands in
        // flight together, started and finished on whichever threads, must never share one.
        var store = await CreateStoreAsync();
        const int Count = 200;
        static byte[] FingerprintOf(int i) => BitConverter.GetBytes(i);

        await Task.WhenAll(Enumerable.Range(0, Count).Select(async i =>
        {
            var begun = await store.TryBeginAsync($"concurrent-{i}", FingerprintOf(i), Lease, CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
            var response = new StoredResponse(201, [new("Location", $"/items/{i}")], Encoding.UTF8.GetBytes($"body {i}"));
            Assert.True(await store.CompleteAsync($"concurrent-{i}", begun.FencingToken, response, Retention, CancellationToken.None));
        }));

        await Task.WhenAll(Enumerable.Range(0, Count).Select(async i =>
        {
            var replay = await store.TryBeginAsync($"concurrent-{i}", FingerprintOf(i), Lease, CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
            Assert.Equal($"body {i}", Encoding.UTF8.GetString(replay.Response!.Body.Span));
            Assert.Equal($"/items/{i}", replay.Response.Headers[0].Value.ToString());
            var other = await store.TryBeginAsync($"concurrent-{i}", FingerprintOf(i + Count), Lease, CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.FingerprintMismatch, other.Status);
        }));
    }

    [Fact]
    public async Task A_cancelled_call_sends_nothing()
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.TryBeginAsync("cancelled", Fingerprint, Lease, new CancellationToken(canceled: true)).AsTask());

        Assert.Equal(0L, await server.ExecuteAsync("EXISTS", RedisKey("cancelled")));
    }
}
