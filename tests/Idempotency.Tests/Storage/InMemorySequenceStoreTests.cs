using System.Globalization;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Storage;

/// <summary>
/// What only the in-memory store promises about streams: their size accounting, that they are never evicted before
/// they expire, their expiry and sweep. The shared contract is in <see cref="InMemorySequenceConformanceTests"/>.
/// </summary>
public sealed class InMemorySequenceStoreTests
{
    private const int Window = 16;

    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    // Keys of a fixed length and 32-byte fingerprints give every stream and record these exact sizes.
    private static readonly long EmptyStreamBytes = InMemoryStream.MeasureEmpty(Key(0));
    private static readonly long SlotBytes = InMemoryStream.MeasureSlot(32);
    private static readonly long InFlightRecordBytes = InMemoryRecord.MeasureInFlight(Key(0), 32, evictable: false);

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    // ---- accounting -------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_stream_is_accounted_by_its_slot_and_its_window()
    {
        using var store = CreateStore();

        var token = await AcquireAsync(store, Key(1), 0, 1);
        Assert.Equal(EmptyStreamBytes + SlotBytes, store.SizeBytes);

        Assert.True(await store.CompleteSequenceAsync(Key(1), token, Response(100), Window, Hour, CancellationToken.None));
        Assert.Equal(EmptyStreamBytes + SlotBytes + 100, store.SizeBytes);

        var second = await AcquireAsync(store, Key(1), 0, 2);
        Assert.Equal(EmptyStreamBytes + (2 * SlotBytes) + 100, store.SizeBytes);

        Assert.True(await store.RenewSequenceLeaseAsync(Key(1), second, Hour, CancellationToken.None));
        Assert.True(await store.ReleaseSequenceAsync(Key(1), second, CancellationToken.None));
        Assert.Equal(EmptyStreamBytes + SlotBytes + 100, store.SizeBytes);
        Assert.Equal(1, store.StreamCount);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task The_window_keeps_only_the_most_recent_numbers_and_their_bytes()
    {
        using var store = CreateStore();
        await ApplyRangeAsync(store, Key(1), 0, 1, 10, bodyBytes: 100, window: 3);

        Assert.Equal(EmptyStreamBytes + (3 * (SlotBytes + 100)), store.SizeBytes);

        // A wider window keeps more from now on; a narrower one drops the oldest at once.
        await ApplyRangeAsync(store, Key(1), 0, 11, 12, bodyBytes: 100, window: 8);
        Assert.Equal(EmptyStreamBytes + (5 * (SlotBytes + 100)), store.SizeBytes);
        await ApplyRangeAsync(store, Key(1), 0, 13, 13, bodyBytes: 100, window: 1);
        Assert.Equal(EmptyStreamBytes + SlotBytes + 100, store.SizeBytes);
        Assert.Equal(SequenceBeginStatus.AlreadyApplied, await BeginStatusAsync(store, Key(1), 0, 12));
        Assert.Equal(SequenceBeginStatus.Completed, await BeginStatusAsync(store, Key(1), 0, 13));
    }

    [Fact]
    public async Task A_window_that_grows_while_wrapped_around_replays_every_number_it_holds()
    {
        using var store = CreateStore();
        await ApplyRangeAsync(store, Key(1), 0, 1, 10, bodyBytes: 0, window: 3);

        await ApplyRangeAsync(store, Key(1), 0, 11, 30, bodyBytes: 0, window: 12);

        for (var n = 1; n <= 18; n++)
        {
            Assert.Equal(SequenceBeginStatus.AlreadyApplied, await BeginStatusAsync(store, Key(1), 0, n));
        }

        for (var n = 19; n <= 30; n++)
        {
            var replay = await store.TryBeginSequenceAsync(Key(1), 0, n, Fingerprint(n), Hour, CancellationToken.None);
            Assert.Equal(SequenceBeginStatus.Completed, replay.Status);
            Assert.Equal(200 + n, replay.Response!.StatusCode);
        }
    }

    [Fact]
    public async Task Raising_the_epoch_drops_the_old_window_and_its_bytes()
    {
        using var store = CreateStore();
        await ApplyRangeAsync(store, Key(1), 0, 1, 5, bodyBytes: 100);

        await ApplyRangeAsync(store, Key(1), 1, 1, 1, bodyBytes: 100);

        Assert.Equal(EmptyStreamBytes + SlotBytes + 100, store.SizeBytes);
    }

    [Fact]
    public async Task Releasing_the_slot_of_a_stream_that_applied_nothing_removes_the_stream()
    {
        using var store = CreateStore();
        var token = await AcquireAsync(store, Key(1), 3, 1);

        Assert.True(await store.ReleaseSequenceAsync(Key(1), token, CancellationToken.None));

        Assert.Equal(0, store.StreamCount);
        Assert.Equal(0, store.SizeBytes);
    }

    [Fact]
    public async Task A_takeover_of_an_expired_slot_replaces_its_bytes()
    {
        using var store = CreateStore();
        await ApplyRangeAsync(store, Key(1), 0, 1, 1, bodyBytes: 100);
        await AcquireAsync(store, Key(1), 0, 2, TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(2));

        var takeover = await store.TryBeginSequenceAsync(Key(1), 0, 2, new byte[64], Hour, CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Acquired, takeover.Status);
        Assert.Equal(EmptyStreamBytes + SlotBytes + 100 + InMemoryStream.MeasureSlot(64), store.SizeBytes);
    }

    [Fact]
    public async Task An_expired_stream_found_by_a_begin_gives_its_bytes_back()
    {
        using var store = CreateStore();
        await ApplyRangeAsync(store, Key(1), 2, 1, 3, bodyBytes: 100, retention: TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(SequenceBeginStatus.Acquired, await BeginStatusAsync(store, Key(1), 0, 1));

        Assert.Equal(1, store.StreamCount);
        Assert.Equal(EmptyStreamBytes + SlotBytes, store.SizeBytes);
    }

    // ---- expiry and sweep -------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_live_slot_keeps_the_stream_past_its_retention()
    {
        using var store = CreateStore();
        await ApplyRangeAsync(store, Key(1), 0, 1, 1, bodyBytes: 10, retention: TimeSpan.FromMinutes(1));
        var token = await AcquireAsync(store, Key(1), 0, 2, Hour);

        _time.Advance(TimeSpan.FromMinutes(2));
        store.SweepExpired();

        // The owner of 2 must find 1 applied: losing the stream under it would let the client's 1 run again.
        Assert.Equal(1, store.StreamCount);
        Assert.Equal(SequenceBeginStatus.Completed, await BeginStatusAsync(store, Key(1), 0, 1));
        Assert.True(await store.CompleteSequenceAsync(Key(1), token, Response(10), Window, TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal(SequenceBeginStatus.Acquired, await BeginStatusAsync(store, Key(1), 0, 3));
    }

    [Fact]
    public async Task Releasing_a_slot_that_outlived_the_retention_removes_the_stream()
    {
        using var store = CreateStore();
        await ApplyRangeAsync(store, Key(1), 0, 1, 1, bodyBytes: 10, retention: TimeSpan.FromMinutes(1));
        var token = await AcquireAsync(store, Key(1), 0, 2, Hour);
        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.True(await store.ReleaseSequenceAsync(Key(1), token, CancellationToken.None));

        Assert.Equal(0, store.StreamCount);
        Assert.Equal(0, store.SizeBytes);
        Assert.Equal(SequenceBeginStatus.Gap, await BeginStatusAsync(store, Key(1), 0, 2));
    }

    [Fact]
    public async Task The_sweep_removes_expired_streams_every_scan_interval()
    {
        using var store = CreateStore(scanInterval: TimeSpan.FromMinutes(1));
        await ApplyRangeAsync(store, Key(1), 0, 1, 2, bodyBytes: 100, retention: TimeSpan.FromSeconds(30));
        await AcquireAsync(store, Key(2), 0, 1, TimeSpan.FromSeconds(30));
        await ApplyRangeAsync(store, Key(3), 0, 1, 1, bodyBytes: 100, retention: TimeSpan.FromMinutes(5));
        await AcquireAsync(store, Key(4), 0, 1, TimeSpan.FromMinutes(5));

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(4, store.StreamCount);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, store.StreamCount);
        Assert.Equal((2 * EmptyStreamBytes) + (2 * SlotBytes) + 100, store.SizeBytes);
        Assert.Equal(SequenceBeginStatus.Completed, await BeginStatusAsync(store, Key(3), 0, 1));
    }

    [Fact]
    public async Task The_sweep_clears_a_backlog_of_streams_and_records_larger_than_one_batch()
    {
        using var store = CreateStore(scanInterval: TimeSpan.FromMinutes(1));
        for (var i = 0; i < 500; i++)
        {
            await ApplyRangeAsync(store, Key(i), 0, 1, 1, bodyBytes: 10, retention: TimeSpan.FromSeconds(10));
            Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(Key(i), Fingerprint(1), TimeSpan.FromSeconds(10), CancellationToken.None)).Status);
        }

        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(0, store.StreamCount);
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.SizeBytes);
    }

    [Fact]
    public async Task Accounted_size_returns_to_zero_when_every_stream_is_gone()
    {
        using var store = CreateStore(sizeLimitBytes: 8192);
        var retention = TimeSpan.FromMinutes(1);
        await ApplyRangeAsync(store, Key(1), 0, 1, 6, bodyBytes: 300, window: 4, retention: retention);
        await ApplyRangeAsync(store, Key(1), 1, 1, 2, bodyBytes: 200, window: 4, retention: retention);
        var released = await AcquireAsync(store, Key(1), 1, 3, retention);
        Assert.True(await store.ReleaseSequenceAsync(Key(1), released, CancellationToken.None));
        var renewed = await AcquireAsync(store, Key(2), 0, 1, retention);
        Assert.True(await store.RenewSequenceLeaseAsync(Key(2), renewed, TimeSpan.FromMinutes(2), CancellationToken.None));
        var oversized = await AcquireAsync(store, Key(3), 0, 1, retention);
        Assert.True(await store.CompleteSequenceAsync(Key(3), oversized, Response(20_000), Window, retention, CancellationToken.None));
        await AcquireAsync(store, Key(4), 0, 1, TimeSpan.FromSeconds(10));
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(SequenceBeginStatus.Acquired, await BeginStatusAsync(store, Key(4), 0, 1, retention));
        Assert.True(store.SizeBytes <= 8192);

        _time.Advance(TimeSpan.FromMinutes(3));
        store.SweepExpired();

        Assert.Equal(0, store.StreamCount);
        Assert.Equal(0, store.SizeBytes);
    }

    // ---- the size limit ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task With_eviction_opted_in_streams_are_still_never_evicted_to_make_room()
    {
        using var store = CreateStore(sizeLimitBytes: 4096, evictLiveRecords: true);
        await ApplyRangeAsync(store, Key(1), 0, 1, 1, bodyBytes: 1500);
        await CompleteRecordAsync(store, Key(1), bodyBytes: 1500);

        // The completed record goes, not the stream, although the stream is older.
        await CompleteRecordAsync(store, Key(2), bodyBytes: 1500);
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(Key(1), Fingerprint(1), Hour, CancellationToken.None)).Status);

        // A response that could only fit by evicting the stream is kept without its body instead.
        await CompleteRecordAsync(store, Key(3), bodyBytes: 2500);
        var record = await store.TryBeginAsync(Key(3), Fingerprint(1), Hour, CancellationToken.None);
        Assert.False(record.Response!.IsBodyStored);

        var stream = await store.TryBeginSequenceAsync(Key(1), 0, 1, Fingerprint(1), Hour, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Completed, stream.Status);
        Assert.Equal(1500, stream.Response!.Body.Length);
        Assert.True(store.SizeBytes <= 4096);
    }

    [Fact]
    public async Task A_stream_begin_throws_when_streams_and_in_flight_records_fill_the_store()
    {
        using var store = CreateStore(sizeLimitBytes: 1024);
        var tokens = new long[3];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = await AcquireAsync(store, Key(i), 0, 1);
        }

        var exception = await Assert.ThrowsAsync<IdempotencyStoreCapacityException>(
            () => store.TryBeginSequenceAsync(Key(9), 0, 1, Fingerprint(1), Hour, CancellationToken.None).AsTask());

        Assert.Contains(nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes), exception.Message, StringComparison.Ordinal);
        Assert.Equal(3, store.StreamCount);
        Assert.Equal(3 * (EmptyStreamBytes + SlotBytes), store.SizeBytes);
        Assert.True(await store.ReleaseSequenceAsync(Key(0), tokens[0], CancellationToken.None));
        Assert.Equal(SequenceBeginStatus.Acquired, await BeginStatusAsync(store, Key(9), 0, 1));
    }

    [Fact]
    public async Task With_eviction_opted_in_streams_count_against_a_record_begin_and_completed_records_make_room_for_streams()
    {
        // Room for the completed record and three and a half streams, or for six streams.
        var streamBytes = EmptyStreamBytes + SlotBytes;
        using var store = CreateStore(
            sizeLimitBytes: InMemoryRecord.MeasureInFlight(Key(0), 32, evictable: true) + 600 + (3 * streamBytes) + (streamBytes / 2),
            evictLiveRecords: true);
        await CompleteRecordAsync(store, Key(0), bodyBytes: 600);

        for (var i = 1; i <= 3; i++)
        {
            await AcquireAsync(store, Key(i), 0, 1);
        }

        // 3 slots and the completed record do not leave room for a fourth slot: the record goes.
        Assert.Equal(IdempotencyBeginStatus.Completed, (await store.TryBeginAsync(Key(0), Fingerprint(1), Hour, CancellationToken.None)).Status);
        await AcquireAsync(store, Key(4), 0, 1);
        Assert.Equal(0, store.Count);

        // Now only streams remain, and they are not evicted for a record.
        await AcquireAsync(store, Key(5), 0, 1);
        await AcquireAsync(store, Key(6), 0, 1);
        await Assert.ThrowsAsync<IdempotencyStoreCapacityException>(() => store.TryBeginAsync(Key(7), Fingerprint(1), Hour, CancellationToken.None).AsTask());
        Assert.Equal(6, store.StreamCount);
    }

    [Fact]
    public async Task Expired_streams_make_room_for_new_ones()
    {
        using var store = CreateStore(sizeLimitBytes: 1024);
        var stale = new long[3];
        for (var i = 0; i < stale.Length; i++)
        {
            stale[i] = await AcquireAsync(store, Key(i), 0, 1, TimeSpan.FromMinutes(1));
        }

        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(SequenceBeginStatus.Acquired, await BeginStatusAsync(store, Key(9), 0, 1));
        for (var i = 0; i < stale.Length; i++)
        {
            Assert.False(await store.CompleteSequenceAsync(Key(i), stale[i], Response(0), Window, Hour, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_response_too_large_for_the_store_is_kept_without_its_body_and_its_number_is_applied()
    {
        using var store = CreateStore(sizeLimitBytes: 2048);
        var token = await AcquireAsync(store, Key(1), 0, 1);

        Assert.True(await store.CompleteSequenceAsync(Key(1), token, Response(4096, statusCode: 201), Window, Hour, CancellationToken.None));

        // Not applying it would let the client's retry run it again; keeping the status lets the retry learn the outcome.
        var replay = await store.TryBeginSequenceAsync(Key(1), 0, 1, Fingerprint(1), Hour, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Completed, replay.Status);
        Assert.Equal(201, replay.Response!.StatusCode);
        Assert.False(replay.Response.IsBodyStored);
        Assert.True(replay.Response.Body.IsEmpty);
        Assert.Empty(replay.Response.Headers);
        Assert.Equal(SequenceBeginStatus.Acquired, await BeginStatusAsync(store, Key(1), 0, 2));
        Assert.True(store.SizeBytes <= 2048);
    }

    [Fact]
    public async Task With_eviction_opted_in_completed_records_make_room_for_a_streams_response()
    {
        using var store = CreateStore(sizeLimitBytes: 4096, evictLiveRecords: true);
        await CompleteRecordAsync(store, Key(1), bodyBytes: 2000);
        var token = await AcquireAsync(store, Key(1), 0, 1);

        Assert.True(await store.CompleteSequenceAsync(Key(1), token, Response(2000), Window, Hour, CancellationToken.None));

        var replay = await store.TryBeginSequenceAsync(Key(1), 0, 1, Fingerprint(1), Hour, CancellationToken.None);
        Assert.Equal(2000, replay.Response!.Body.Length);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Numbers_leaving_the_window_make_room_before_any_record_is_evicted()
    {
        // Room for the stream, one window entry, one slot and the record, but not for a second entry beside the first.
        var limit = EmptyStreamBytes + (2 * SlotBytes) + 1000 + InFlightRecordBytes + 1000 + 100;
        using var store = CreateStore(sizeLimitBytes: limit);
        await ApplyRangeAsync(store, Key(1), 0, 1, 1, bodyBytes: 1000, window: 1);
        await CompleteRecordAsync(store, Key(2), bodyBytes: 1000);

        await ApplyRangeAsync(store, Key(1), 0, 2, 2, bodyBytes: 1000, window: 1);

        Assert.Equal(IdempotencyBeginStatus.Completed, (await store.TryBeginAsync(Key(2), Fingerprint(1), Hour, CancellationToken.None)).Status);
        var replay = await store.TryBeginSequenceAsync(Key(1), 0, 2, Fingerprint(2), Hour, CancellationToken.None);
        Assert.Equal(1000, replay.Response!.Body.Length);
    }

    [Fact]
    public async Task Concurrent_stream_and_record_traffic_under_a_tight_limit_keeps_the_accounting_consistent()
    {
        const long limit = 16 * 1024;
        using var store = CreateStore(sizeLimitBytes: limit);
        var retention = TimeSpan.FromSeconds(3);
        var workers = new Task[4];
        var stepped = 0;
        var refused = 0;
        for (var w = 0; w < workers.Length; w++)
        {
            var seed = w;

            // Every call completes synchronously, so each worker is one long synchronous loop on its own thread.
            workers[w] = Task.Factory.StartNew(async () =>
            {
                var random = new Random(seed);
                for (var i = 0; i < 2000; i++)
                {
                    // Every step moves time (96 s in all) past the retention, so records and streams expire while the store is
                    // full and their keys run again: without it the store fills once and refuses the rest.
                    _time.Advance(TimeSpan.FromMilliseconds(12));

                    var key = Key(random.Next(16));
                    try
                    {
                        var acted = random.Next(2) == 0
                            ? await StreamStepAsync(store, key, random, i / 250, retention)
                            : await RecordStepAsync(store, key, random, retention);
                        if (acted)
                        {
                            Interlocked.Increment(ref stepped);
                        }
                    }
                    catch (IdempotencyStoreCapacityException)
                    {
                        // Full: only begins throw, and they change nothing.
                        Interlocked.Increment(ref refused);
                    }

                    Assert.True(store.SizeBytes <= limit);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }

        await Task.WhenAll(workers);

        // The limit must have been met, and traffic must still have got through.
        Assert.True(refused > 0, "The store was never full.");
        Assert.True(stepped >= 300, $"Only {stepped} steps went through ({refused} refused).");

        _time.Advance(TimeSpan.FromHours(2));
        store.SweepExpired();
        Assert.Equal(0, store.StreamCount);
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.SizeBytes);
    }

    // ---- bounds and arguments ---------------------------------------------------------------------------------------

    [Fact]
    public async Task The_longest_lease_and_retention_do_not_overflow()
    {
        using var store = CreateStore();
        var token = await AcquireAsync(store, Key(1), 0, 1, TimeSpan.MaxValue);
        _time.Advance(TimeSpan.FromDays(3650));
        Assert.Equal(SequenceBeginStatus.InFlight, await BeginStatusAsync(store, Key(1), 0, 1));
        Assert.True(await store.RenewSequenceLeaseAsync(Key(1), token, TimeSpan.MaxValue, CancellationToken.None));

        Assert.True(await store.CompleteSequenceAsync(Key(1), token, Response(10), Window, TimeSpan.MaxValue, CancellationToken.None));
        _time.Advance(TimeSpan.FromDays(3650));

        Assert.Equal(SequenceBeginStatus.Completed, await BeginStatusAsync(store, Key(1), 0, 1));
    }

    [Fact]
    public async Task The_largest_number_and_epoch_are_handled()
    {
        using var store = CreateStore();
        await ApplyRangeAsync(store, Key(1), long.MaxValue, 1, 1, bodyBytes: 0);

        var gap = await store.TryBeginSequenceAsync(Key(1), long.MaxValue, long.MaxValue, Fingerprint(1), Hour, CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(1, gap.LastSequence);
    }

    [Fact]
    public async Task Arguments_out_of_range_are_rejected()
    {
        using var store = CreateStore();
        var zero = TimeSpan.Zero;
        var fingerprint = Fingerprint(1);

        await Assert.ThrowsAsync<ArgumentNullException>(() => store.TryBeginSequenceAsync(null!, 0, 1, fingerprint, Hour, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginSequenceAsync(Key(1), -1, 1, fingerprint, Hour, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginSequenceAsync(Key(1), 0, 0, fingerprint, Hour, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginSequenceAsync(Key(1), 0, -1, fingerprint, Hour, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginSequenceAsync(Key(1), 0, 1, fingerprint, zero, CancellationToken.None).AsTask());
        Assert.Equal(0, store.StreamCount);

        var token = await AcquireAsync(store, Key(1), 0, 1);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.RenewSequenceLeaseAsync(Key(1), token, zero, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.CompleteSequenceAsync(Key(1), token, Response(1), 0, Hour, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.CompleteSequenceAsync(Key(1), token, Response(1), Window, zero, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => store.CompleteSequenceAsync(Key(1), token, null!, Window, Hour, CancellationToken.None).AsTask());

        // Rejected calls leave the owner in charge.
        Assert.True(await store.CompleteSequenceAsync(Key(1), token, Response(1), Window, Hour, CancellationToken.None));
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    private static string Key(int i) => i.ToString("D32", CultureInfo.InvariantCulture);

    /// <summary>A 32-byte fingerprint per number, so replays of the wrong number show.</summary>
    private static byte[] Fingerprint(long number)
    {
        var fingerprint = new byte[32];
        BitConverter.TryWriteBytes(fingerprint, number);
        return fingerprint;
    }

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

    private static async Task<long> AcquireAsync(InMemoryIdempotencyStore store, string key, long epoch, long number, TimeSpan? lease = null)
    {
        var result = await store.TryBeginSequenceAsync(key, epoch, number, Fingerprint(number), lease ?? Hour, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, result.Status);
        return result.FencingToken;
    }

    /// <summary>Applies <paramref name="from"/>..<paramref name="to"/>, each with status 200 + number and a body of <paramref name="bodyBytes"/>.</summary>
    private static async Task ApplyRangeAsync(
        InMemoryIdempotencyStore store, string key, long epoch, long from, long to, int bodyBytes, int window = Window, TimeSpan? retention = null)
    {
        for (var n = from; n <= to; n++)
        {
            var token = await AcquireAsync(store, key, epoch, n);
            var response = Response(bodyBytes, statusCode: 200 + (int)Math.Min(n, 99));
            Assert.True(await store.CompleteSequenceAsync(key, token, response, window, retention ?? Hour, CancellationToken.None));
        }
    }

    private static async Task CompleteRecordAsync(InMemoryIdempotencyStore store, string key, int bodyBytes)
    {
        var begin = await store.TryBeginAsync(key, Fingerprint(1), Hour, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, begin.Status);
        Assert.True(await store.CompleteAsync(key, begin.FencingToken, Response(bodyBytes), Hour, CancellationToken.None));
    }

    private static async Task<SequenceBeginStatus> BeginStatusAsync(InMemoryIdempotencyStore store, string key, long epoch, long number, TimeSpan? lease = null)
        => (await store.TryBeginSequenceAsync(key, epoch, number, Fingerprint(number), lease ?? Hour, CancellationToken.None)).Status;

    /// <summary>One random step on a stream; <see langword="true"/> when it acquired the number and released or completed it.</summary>
    private static async Task<bool> StreamStepAsync(InMemoryIdempotencyStore store, string key, Random random, int phase, TimeSpan retention)
    {
        // A few numbers per epoch, epochs moving on with the phase and sometimes ahead of it: every branch of begin.
        var epoch = phase + (random.Next(10) == 0 ? 1 : 0);
        var number = 1 + random.Next(8);
        var begin = await store.TryBeginSequenceAsync(key, epoch, number, Fingerprint(number), Hour, CancellationToken.None);
        if (begin.Status != SequenceBeginStatus.Acquired)
        {
            return false;
        }

        switch (random.Next(3))
        {
            case 0:
                Assert.True(await store.ReleaseSequenceAsync(key, begin.FencingToken, CancellationToken.None));
                break;
            case 1:
                Assert.True(await store.RenewSequenceLeaseAsync(key, begin.FencingToken, Hour, CancellationToken.None));
                Assert.True(await store.CompleteSequenceAsync(key, begin.FencingToken, Response(random.Next(2000)), 1 + random.Next(4), retention, CancellationToken.None));
                break;
            default:
                Assert.True(await store.CompleteSequenceAsync(key, begin.FencingToken, Response(random.Next(2000)), 1 + random.Next(4), retention, CancellationToken.None));
                break;
        }

        return true;
    }

    /// <summary>One random step on a record; <see langword="true"/> when it acquired the record and released or completed it.</summary>
    private static async Task<bool> RecordStepAsync(InMemoryIdempotencyStore store, string key, Random random, TimeSpan retention)
    {
        var begin = await store.TryBeginAsync(key, Fingerprint(1), Hour, CancellationToken.None);
        if (begin.Status != IdempotencyBeginStatus.Acquired)
        {
            return false;
        }

        if (random.Next(3) == 0)
        {
            Assert.True(await store.ReleaseAsync(key, begin.FencingToken, CancellationToken.None));
        }
        else
        {
            Assert.True(await store.CompleteAsync(key, begin.FencingToken, Response(random.Next(3000)), retention, CancellationToken.None));
        }

        return true;
    }
}
