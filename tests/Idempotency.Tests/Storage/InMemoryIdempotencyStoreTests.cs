using System.Globalization;
using System.Runtime.CompilerServices;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Storage;

/// <summary>What only the in-memory store promises: its size limit, eviction order and sweep. The shared contract is in
/// <see cref="InMemoryStoreConformanceTests"/>.</summary>
public sealed class InMemoryIdempotencyStoreTests
{
    // Keys of a fixed length and 32-byte fingerprints make every in-flight record exactly this size.
    private static readonly long InFlightBytes = InMemoryRecord.MeasureInFlight(Key(0), 32, evictable: false);
    private static readonly long EvictableInFlightBytes = InMemoryRecord.MeasureInFlight(Key(0), 32, evictable: true);

    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    [Fact]
    public async Task With_eviction_opted_in_the_oldest_completed_records_are_evicted_first_when_the_size_limit_is_reached()
    {
        // Room for three records of 1000-byte bodies, not four.
        using var store = CreateStore(sizeLimitBytes: (3 * (EvictableInFlightBytes + 1000)) + 100, evictLiveRecords: true);
        await CompleteAsync(store, Key(1), bodyBytes: 1000, Hour);
        await CompleteAsync(store, Key(2), bodyBytes: 1000, Hour);
        await CompleteAsync(store, Key(3), bodyBytes: 1000, Hour);

        await CompleteAsync(store, Key(4), bodyBytes: 1000, Hour);

        Assert.Equal(3, store.Count);
        Assert.True(store.SizeBytes <= (3 * (EvictableInFlightBytes + 1000)) + 100);
        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(2)));
        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(3)));
        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(4)));
        Assert.Equal(IdempotencyBeginStatus.Acquired, await BeginStatusAsync(store, Key(1)));
    }

    [Fact]
    public async Task Expired_records_are_evicted_before_older_live_ones()
    {
        using var store = CreateStore(sizeLimitBytes: 4096);
        await CompleteAsync(store, Key(1), bodyBytes: 1500, Hour);
        await CompleteAsync(store, Key(2), bodyBytes: 1500, TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(2, store.Count);

        await CompleteAsync(store, Key(3), bodyBytes: 1500, Hour);

        Assert.Equal(2, store.Count);
        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(1)));
        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(3)));
    }

    [Fact]
    public async Task In_flight_records_are_never_evicted()
    {
        using var store = CreateStore(sizeLimitBytes: 4096, evictLiveRecords: true);
        var first = await AcquireAsync(store, Key(1));
        var second = await AcquireAsync(store, Key(2));
        await CompleteAsync(store, Key(3), bodyBytes: 2000, Hour);

        await CompleteAsync(store, Key(4), bodyBytes: 2000, Hour);

        Assert.True(await store.RenewLeaseAsync(Key(1), first, Hour, CancellationToken.None));
        Assert.True(await store.RenewLeaseAsync(Key(2), second, Hour, CancellationToken.None));
        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(4)));
        Assert.Equal(IdempotencyBeginStatus.Acquired, await BeginStatusAsync(store, Key(3)));
    }

    [Fact]
    public async Task Begin_throws_when_in_flight_records_fill_the_store()
    {
        using var store = CreateStore(sizeLimitBytes: (4 * InFlightBytes) + 100);
        var tokens = new long[4];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = await AcquireAsync(store, Key(i));
        }

        var exception = await Assert.ThrowsAsync<IdempotencyStoreCapacityException>(() => store.TryBeginAsync(Key(9), Fingerprint, Hour, CancellationToken.None).AsTask());

        Assert.Contains(nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes), exception.Message, StringComparison.Ordinal);
        Assert.Equal(4, store.Count);
        Assert.True(await store.ReleaseAsync(Key(0), tokens[0], CancellationToken.None));
        Assert.Equal(IdempotencyBeginStatus.Acquired, await BeginStatusAsync(store, Key(9)));
    }

    [Fact]
    public async Task With_eviction_opted_in_a_begin_that_cannot_fit_does_not_evict_completed_records_in_vain()
    {
        using var store = CreateStore(sizeLimitBytes: (4 * EvictableInFlightBytes) + 100, evictLiveRecords: true);
        await CompleteAsync(store, Key(0), bodyBytes: 0, Hour);
        for (var i = 1; i <= 3; i++)
        {
            await AcquireAsync(store, Key(i));
        }

        // Bigger than what the completed record would free next to the in-flight ones.
        var largeFingerprint = new byte[200];
        await Assert.ThrowsAsync<IdempotencyStoreCapacityException>(() => store.TryBeginAsync(Key(9), largeFingerprint, Hour, CancellationToken.None).AsTask());

        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(0)));
    }

    [Fact]
    public async Task Expired_in_flight_records_make_room_for_new_ones()
    {
        using var store = CreateStore(sizeLimitBytes: (4 * InFlightBytes) + 100);
        var stale = new long[4];
        for (var i = 0; i < stale.Length; i++)
        {
            stale[i] = await AcquireAsync(store, Key(i), TimeSpan.FromMinutes(1));
        }

        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(IdempotencyBeginStatus.Acquired, await BeginStatusAsync(store, Key(9)));
        for (var i = 0; i < stale.Length; i++)
        {
            Assert.False(await store.CompleteAsync(Key(i), stale[i], Response(0), Hour, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_response_too_large_for_the_store_is_kept_without_its_body()
    {
        using var store = CreateStore(sizeLimitBytes: 2048);
        await CompleteAsync(store, Key(0), bodyBytes: 100, Hour);
        var token = await AcquireAsync(store, Key(1));

        var completed = await store.CompleteAsync(Key(1), token, Response(4096, statusCode: 201), Hour, CancellationToken.None);

        // Forgetting it would let a retry run the operation again; keeping the status lets the retry learn the outcome.
        Assert.True(completed);
        var replay = await store.TryBeginAsync(Key(1), Fingerprint, Hour, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
        Assert.Equal(201, replay.Response!.StatusCode);
        Assert.False(replay.Response.IsBodyStored);
        Assert.True(replay.Response.Body.IsEmpty);
        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(0)));
        Assert.True(store.SizeBytes <= 2048);
    }

    [Fact]
    public async Task With_eviction_opted_in_a_record_that_replaced_an_expired_one_is_not_evicted_in_its_place()
    {
        using var store = CreateStore(sizeLimitBytes: 4096, evictLiveRecords: true);
        await CompleteAsync(store, Key(1), bodyBytes: 1000, TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(2));
        var token = await AcquireAsync(store, Key(1));
        await CompleteAsync(store, Key(2), bodyBytes: 1500, Hour);

        await CompleteAsync(store, Key(3), bodyBytes: 2000, Hour);

        Assert.True(await store.RenewLeaseAsync(Key(1), token, Hour, CancellationToken.None));
        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(3)));
        Assert.Equal(IdempotencyBeginStatus.Acquired, await BeginStatusAsync(store, Key(2)));
    }

    [Fact]
    public async Task The_sweep_removes_expired_records_every_scan_interval()
    {
        using var store = CreateStore(scanInterval: TimeSpan.FromMinutes(1));
        await CompleteAsync(store, Key(1), bodyBytes: 100, TimeSpan.FromSeconds(30));
        await CompleteAsync(store, Key(2), bodyBytes: 100, TimeSpan.FromSeconds(30));
        await AcquireAsync(store, Key(3), TimeSpan.FromSeconds(30));
        var live = await AcquireAsync(store, Key(4), TimeSpan.FromMinutes(5));

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(4, store.Count);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, store.Count);
        Assert.Equal(InFlightBytes, store.SizeBytes);
        Assert.True(await store.RenewLeaseAsync(Key(4), live, Hour, CancellationToken.None));
    }

    [Fact]
    public async Task The_sweep_clears_a_backlog_larger_than_one_batch()
    {
        using var store = CreateStore(scanInterval: TimeSpan.FromMinutes(1));
        for (var i = 0; i < 1000; i++)
        {
            await AcquireAsync(store, Key(i), TimeSpan.FromSeconds(10));
        }

        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.SizeBytes);
    }

    [Fact]
    public async Task Dispose_stops_the_sweep()
    {
        var store = CreateStore(scanInterval: TimeSpan.FromMinutes(1));
        await CompleteAsync(store, Key(1), bodyBytes: 100, TimeSpan.FromSeconds(30));

        store.Dispose();
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(1, store.Count);
    }

    [Fact]
    public async Task Accounted_size_returns_to_zero_when_every_record_is_gone()
    {
        using var store = CreateStore(sizeLimitBytes: 4096, scanInterval: Hour);
        var released = await AcquireAsync(store, Key(1));
        var renewed = await AcquireAsync(store, Key(2), TimeSpan.FromMinutes(1));
        Assert.True(await store.RenewLeaseAsync(Key(2), renewed, TimeSpan.FromMinutes(2), CancellationToken.None));
        await CompleteAsync(store, Key(3), bodyBytes: 1000, TimeSpan.FromMinutes(1));
        await CompleteAsync(store, Key(4), bodyBytes: 3000, TimeSpan.FromMinutes(1));
        var oversized = await AcquireAsync(store, Key(5), TimeSpan.FromMinutes(1));
        Assert.True(await store.CompleteAsync(Key(5), oversized, Response(10_000), TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.True(await store.ReleaseAsync(Key(1), released, CancellationToken.None));
        Assert.True(store.SizeBytes <= 4096);

        _time.Advance(TimeSpan.FromMinutes(3));
        store.SweepExpired();

        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.SizeBytes);
    }

    [Fact]
    public async Task Concurrent_traffic_under_a_tight_limit_keeps_the_accounting_consistent()
    {
        const long limit = 16 * 1024;
        using var store = CreateStore(sizeLimitBytes: limit, scanInterval: Hour);
        var workers = new Task[4];
        var completed = 0;
        var refused = 0;
        for (var w = 0; w < workers.Length; w++)
        {
            var seed = w;

            // Every call completes synchronously, so each worker is one long synchronous loop: on its own thread it
            // does not starve the thread pool that tests running in parallel need.
            workers[w] = Task.Factory.StartNew(async () =>
            {
                var random = new Random(seed);
                for (var i = 0; i < 2000; i++)
                {
                    // Every step moves time (96 s in all) and retentions are a few seconds, so records expire while the store
                    // is full and their keys run again: without it each of the 64 keys could complete only once.
                    _time.Advance(TimeSpan.FromMilliseconds(12));

                    var key = Key(random.Next(64));
                    IdempotencyBeginResult begin;
                    try
                    {
                        begin = await store.TryBeginAsync(key, Fingerprint, Hour, CancellationToken.None);
                    }
                    catch (IdempotencyStoreCapacityException)
                    {
                        Interlocked.Increment(ref refused);
                        continue;
                    }

                    if (begin.Status != IdempotencyBeginStatus.Acquired)
                    {
                        continue;
                    }

                    switch (random.Next(3))
                    {
                        case 0:
                            Assert.True(await store.ReleaseAsync(key, begin.FencingToken, CancellationToken.None));
                            break;
                        case 1:
                            Assert.True(await store.RenewLeaseAsync(key, begin.FencingToken, Hour, CancellationToken.None));
                            Assert.True(await store.CompleteAsync(key, begin.FencingToken, Response(random.Next(3000)), TimeSpan.FromSeconds(1 + random.Next(5)), CancellationToken.None));
                            Interlocked.Increment(ref completed);
                            break;
                        default:
                            Assert.True(await store.CompleteAsync(key, begin.FencingToken, Response(random.Next(3000)), TimeSpan.FromSeconds(1 + random.Next(5)), CancellationToken.None));
                            Interlocked.Increment(ref completed);
                            break;
                    }

                    Assert.True(store.SizeBytes <= limit);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }

        await Task.WhenAll(workers);

        // The limit must have been met, and traffic must still have got through: a store that refused everything,
        // or one never full, would keep its accounting consistent without proving anything.
        Assert.True(refused > 0, "The store was never full.");
        Assert.True(completed >= 300, $"Only {completed} operations completed ({refused} begins refused).");

        _time.Advance(TimeSpan.FromHours(2));
        store.SweepExpired();
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.SizeBytes);
    }

    [Fact]
    public async Task The_longest_lease_and_retention_do_not_overflow()
    {
        using var store = CreateStore();
        var token = await AcquireAsync(store, Key(1), TimeSpan.MaxValue);
        _time.Advance(TimeSpan.FromDays(3650));
        Assert.Equal(IdempotencyBeginStatus.InFlight, await BeginStatusAsync(store, Key(1)));

        Assert.True(await store.CompleteAsync(Key(1), token, Response(10), TimeSpan.MaxValue, CancellationToken.None));
        _time.Advance(TimeSpan.FromDays(3650));

        Assert.Equal(IdempotencyBeginStatus.Completed, await BeginStatusAsync(store, Key(1)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task A_lease_or_retention_that_is_not_positive_is_rejected(long ticks)
    {
        using var store = CreateStore();
        var duration = TimeSpan.FromTicks(ticks);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginAsync(Key(1), Fingerprint, duration, CancellationToken.None).AsTask());
        var token = await AcquireAsync(store, Key(1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.RenewLeaseAsync(Key(1), token, duration, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.CompleteAsync(Key(1), token, Response(1), duration, CancellationToken.None).AsTask());
    }

    [Fact]
    public void With_eviction_opted_in_an_evicted_record_does_not_keep_its_response_body_alive()
    {
        using var store = CreateStore(sizeLimitBytes: 64 * 1024, evictLiveRecords: true);
        var body = CompleteWithWeakBody(store, Key(1), bodyBytes: 40 * 1024, Hour);

        // Evicts Key(1) to make room, long before its retention ends: nothing of the store may still hold its response.
        CompleteWithWeakBody(store, Key(2), bodyBytes: 40 * 1024, Hour);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.Equal(1, store.Count);
        Assert.False(body.IsAlive);
    }

    // Not inlined, and synchronous (the in-memory store completes at once), so no local of the caller roots the body.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CompleteWithWeakBody(InMemoryIdempotencyStore store, string key, int bodyBytes, TimeSpan retention)
    {
        var body = new byte[bodyBytes];
        var begin = store.TryBeginAsync(key, Fingerprint, Hour, CancellationToken.None).Result;
        Assert.Equal(IdempotencyBeginStatus.Acquired, begin.Status);
        Assert.True(store.CompleteAsync(key, begin.FencingToken, new StoredResponse(200, [], body), retention, CancellationToken.None).Result);
        return new WeakReference(body);
    }

    private static byte[] Fingerprint { get; } = new byte[32];

    private static string Key(int i) => i.ToString("D32", CultureInfo.InvariantCulture);

    private static StoredResponse Response(int bodyBytes, int statusCode = 200) => new(statusCode, [], new byte[bodyBytes]);

    // One scope may take the whole store here (the keys share a scope partition): these tests are about the size limit;
    // the per-scope quota has its own tests.
    private InMemoryIdempotencyStore CreateStore(long sizeLimitBytes = 256L * 1024 * 1024, TimeSpan? scanInterval = null, bool evictLiveRecords = false)
        => new(
            Options.Create(new InMemoryIdempotencyStoreOptions
            {
                SizeLimitBytes = sizeLimitBytes,
                MaxBytesPerScope = sizeLimitBytes,
                EvictLiveRecordsWhenFull = evictLiveRecords,
                ExpirationScanInterval = scanInterval ?? Hour,
            }),
            _time);

    private static async Task<long> AcquireAsync(InMemoryIdempotencyStore store, string key, TimeSpan? lease = null)
    {
        var result = await store.TryBeginAsync(key, Fingerprint, lease ?? Hour, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, result.Status);
        return result.FencingToken;
    }

    private static async Task CompleteAsync(InMemoryIdempotencyStore store, string key, int bodyBytes, TimeSpan retention)
    {
        var token = await AcquireAsync(store, key);
        Assert.True(await store.CompleteAsync(key, token, Response(bodyBytes), retention, CancellationToken.None));
    }

    private static async Task<IdempotencyBeginStatus> BeginStatusAsync(InMemoryIdempotencyStore store, string key)
        => (await store.TryBeginAsync(key, Fingerprint, Hour, CancellationToken.None)).Status;
}
