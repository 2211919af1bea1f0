using System.Diagnostics.Metrics;
using System.Globalization;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Storage;

/// <summary>
/// docs/contract.md §6 in the in-memory store: records and streams within their retention are never dropped for room (unless
/// <see cref="InMemoryIdempotencyStoreOptions.EvictLiveRecordsWhenFull"/>), a full store or a scope at its quota
/// refuses the newcomer with <see cref="IdempotencyStoreCapacityException"/>, and the per-scope accounting is exact
/// through every transition.
/// </summary>
public sealed class InMemoryStoreCapacityTests : IDisposable
{
    // Keys of 64 characters and 32-byte fingerprints: every in-flight record is exactly this size.
    private static readonly long RecordBytes = InMemoryRecord.MeasureInFlight(Key('A', 0), 32, evictable: false);
    private const long StreamBytes = InMemoryStream.FixedOverheadBytes + (64 * 2) + InMemoryStream.EntryOverheadBytes + 32;

    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly byte[] Fingerprint = new byte[32];

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    [Fact]
    public async Task A_full_store_refuses_a_new_record_instead_of_evicting_a_live_completed_one()
    {
        using var store = CreateStore(sizeLimit: 4096, perScope: 4096);
        await CompleteAsync(store, Key('A', 0), bodyBytes: 1000, Hour);

        var refusal = await FillAsync(store, 'B');

        Assert.Equal(StoreCapacityReason.StoreFull, refusal.Reason);
        Assert.Contains(nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes), refusal.Message, StringComparison.Ordinal);
        var replay = await store.TryBeginAsync(Key('A', 0), Fingerprint, Hour, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
        Assert.Equal(1000, replay.Response!.Body.Length);
        Assert.Null(store.FindAccountingError());
    }

    [Fact]
    public async Task Expired_records_still_make_room_for_a_new_one()
    {
        using var store = CreateStore(sizeLimit: 4096, perScope: 4096);
        await CompleteAsync(store, Key('A', 0), bodyBytes: 1000, TimeSpan.FromMinutes(1));
        await FillAsync(store, 'B');

        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(Key('C', 0), Fingerprint, Hour, CancellationToken.None)).Status);
        Assert.Null(store.FindAccountingError());
    }

    [Fact]
    public async Task The_retry_hint_is_when_the_earliest_entry_expires_bounded_to_one_second_and_one_minute()
    {
        using var store = CreateStore(sizeLimit: 2048, perScope: 2048);
        await AcquireAsync(store, Key('A', 0), TimeSpan.FromSeconds(30));
        await FillAsync(store, 'B');

        Assert.Equal(TimeSpan.FromSeconds(30), (await FillAsync(store, 'C')).RetryAfter);
        _time.Advance(TimeSpan.FromSeconds(29.5));
        Assert.Equal(TimeSpan.FromSeconds(1), (await FillAsync(store, 'C')).RetryAfter);
    }

    [Fact]
    public async Task A_scope_at_its_quota_is_refused_while_other_scopes_still_get_room()
    {
        using var store = CreateStore(sizeLimit: 64 * 1024, perScope: 4 * RecordBytes);

        var refusal = await FillAsync(store, 'A');

        Assert.Equal(StoreCapacityReason.ScopeQuotaExceeded, refusal.Reason);
        Assert.Contains(nameof(InMemoryIdempotencyStoreOptions.MaxBytesPerScope), refusal.Message, StringComparison.Ordinal);
        Assert.Equal(4 * RecordBytes, store.ScopeBytes(Key('A', 0)));
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(Key('B', 0), Fingerprint, Hour, CancellationToken.None)).Status);
        Assert.Equal(SequenceBeginStatus.Acquired, (await store.TryBeginSequenceAsync(Key('C', 0), 0, 1, Fingerprint, Hour, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_scope_opening_streams_is_refused_at_its_quota_and_its_streams_are_kept()
    {
        using var store = CreateStore(sizeLimit: 64 * 1024, perScope: 8 * 1024);
        var opened = 0;
        IdempotencyStoreCapacityException? refusal = null;
        while (refusal is null)
        {
            try
            {
                var token = await AcquireStreamAsync(store, Key('A', opened));
                Assert.True(await store.CompleteSequenceAsync(Key('A', opened), token, Response(100), 16, TimeSpan.FromDays(30), CancellationToken.None));
                opened++;
            }
            catch (IdempotencyStoreCapacityException ex)
            {
                refusal = ex;
            }
        }

        Assert.Equal(StoreCapacityReason.ScopeQuotaExceeded, refusal.Reason);
        Assert.True(store.ScopeBytes(Key('A', 0)) <= 8 * 1024);
        Assert.Equal(SequenceBeginStatus.Completed, (await store.TryBeginSequenceAsync(Key('A', 0), 0, 1, Fingerprint, Hour, CancellationToken.None)).Status);
        Assert.Equal(SequenceBeginStatus.Acquired, (await store.TryBeginSequenceAsync(Key('B', 0), 0, 1, Fingerprint, Hour, CancellationToken.None)).Status);
        Assert.Null(store.FindAccountingError());
    }

    [Fact]
    public async Task A_response_over_the_scopes_quota_is_kept_without_its_body()
    {
        using var store = CreateStore(sizeLimit: 64 * 1024, perScope: 2048);
        var token = await AcquireAsync(store, Key('A', 0));

        Assert.True(await store.CompleteAsync(Key('A', 0), token, Response(4096, statusCode: 201), Hour, CancellationToken.None));

        var replay = await store.TryBeginAsync(Key('A', 0), Fingerprint, Hour, CancellationToken.None);
        Assert.Equal(201, replay.Response!.StatusCode);
        Assert.False(replay.Response.IsBodyStored);
        Assert.Equal(RecordBytes, store.ScopeBytes(Key('A', 0)));
    }

    [Fact]
    public async Task Quota_counters_are_exact_after_release_expiry_sweep_takeover_and_slot_replacement()
    {
        using var store = CreateStore(sizeLimit: 64 * 1024, perScope: 4 * 1024);
        var scope = Key('A', 0);

        // Release gives an in-flight record's bytes back.
        var released = await AcquireAsync(store, Key('A', 1));
        Assert.True(await store.ReleaseAsync(Key('A', 1), released, CancellationToken.None));
        AssertUsage(store, scope, 0);

        // A takeover of an expired in-flight record counts the new record only.
        await AcquireAsync(store, Key('A', 2), TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(2));
        var takeover = await AcquireAsync(store, Key('A', 2));
        AssertUsage(store, scope, RecordBytes);

        // A completion adds its response; a takeover of an expired completed record drops it again.
        Assert.True(await store.CompleteAsync(Key('A', 2), takeover, Response(500), TimeSpan.FromMinutes(1), CancellationToken.None));
        AssertUsage(store, scope, RecordBytes + 500);
        _time.Advance(TimeSpan.FromMinutes(2));
        await AcquireAsync(store, Key('A', 2));
        AssertUsage(store, scope, RecordBytes);

        // Applying a number moves the slot into the window at no cost: only the response is added.
        var slot = await AcquireStreamAsync(store, Key('A', 3));
        Assert.True(await store.CompleteSequenceAsync(Key('A', 3), slot, Response(300), 1, TimeSpan.FromMinutes(30), CancellationToken.None));
        AssertUsage(store, scope, RecordBytes + StreamBytes + 300);

        // A slot whose lease ran out on a live stream is replaced, not added to.
        var slotBytes = InMemoryStream.MeasureSlot(Fingerprint.Length);
        Assert.Equal(SequenceBeginStatus.Acquired, (await store.TryBeginSequenceAsync(Key('A', 3), 0, 2, Fingerprint, TimeSpan.FromSeconds(10), CancellationToken.None)).Status);
        _time.Advance(TimeSpan.FromSeconds(20));
        var next = (await store.TryBeginSequenceAsync(Key('A', 3), 0, 2, Fingerprint, Hour, CancellationToken.None)).FencingToken;
        AssertUsage(store, scope, RecordBytes + StreamBytes + 300 + slotBytes);

        // A window of 1 drops the previous number's entry when the next applies.
        Assert.True(await store.CompleteSequenceAsync(Key('A', 3), next, Response(200), 1, TimeSpan.FromMinutes(30), CancellationToken.None));
        AssertUsage(store, scope, RecordBytes + StreamBytes + 200);

        // A freed slot of a stream that never applied anything drops the stream.
        var unapplied = await AcquireStreamAsync(store, Key('A', 4));
        Assert.True(await store.ReleaseSequenceAsync(Key('A', 4), unapplied, CancellationToken.None));
        AssertUsage(store, scope, RecordBytes + StreamBytes + 200);

        // Everything expires and the sweep takes it: the scope is forgotten, and its whole quota is there again.
        _time.Advance(TimeSpan.FromHours(2));
        store.SweepExpired();
        Assert.Equal(0, store.SizeBytes);
        AssertUsage(store, scope, 0);
        Assert.Equal(StoreCapacityReason.ScopeQuotaExceeded, (await FillAsync(store, 'A')).Reason);
        Assert.Equal(4 * 1024 / RecordBytes * RecordBytes, store.ScopeBytes(scope));
    }

    [Fact]
    public async Task Refusals_dropped_bodies_and_opted_in_evictions_are_counted()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        using var rejections = new MetricCollector<long>(meters, "Idempotency", "idempotency.store.rejections");
        using var dropped = new MetricCollector<long>(meters, "Idempotency", "idempotency.store.bodies_dropped");
        using var evictions = new MetricCollector<long>(meters, "Idempotency", "idempotency.store.evictions");
        using (var store = CreateStore(sizeLimit: 64 * 1024, perScope: 2048))
        {
            await FillAsync(store, 'A');
            var token = await AcquireAsync(store, Key('B', 0));
            Assert.True(await store.CompleteAsync(Key('B', 0), token, Response(4096), Hour, CancellationToken.None));
            var slot = await AcquireStreamAsync(store, Key('C', 0));
            Assert.True(await store.CompleteSequenceAsync(Key('C', 0), slot, Response(4096), 16, Hour, CancellationToken.None));
        }

        using (var store = CreateStore(sizeLimit: 2048, perScope: 2048, evictLiveRecords: true))
        {
            await CompleteAsync(store, Key('A', 0), bodyBytes: 1000, Hour);
            await CompleteAsync(store, Key('B', 0), bodyBytes: 1000, Hour);
            await FillAsync(store, 'C', stream: true);
        }

        var refused = rejections.GetMeasurementSnapshot();
        Assert.Contains(refused, m => Tag(m, "idempotency.store.rejection.reason") == "scope_quota" && Tag(m, "idempotency.store.operation") == "begin");
        Assert.Contains(refused, m => Tag(m, "idempotency.store.rejection.reason") == "store_full" && Tag(m, "idempotency.store.operation") == "begin_sequence");
        Assert.All(refused, m => Assert.Equal(nameof(InMemoryIdempotencyStore), Tag(m, "idempotency.store")));
        Assert.Equal(["complete", "complete_sequence"], dropped.GetMeasurementSnapshot().Select(m => Tag(m, "idempotency.store.operation")));
        Assert.All(dropped.GetMeasurementSnapshot(), m => Assert.Equal("scope_quota", Tag(m, "idempotency.store.rejection.reason")));
        Assert.Equal(2, evictions.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task Without_the_opt_in_nothing_is_evicted_and_nothing_is_counted_as_evicted()
    {
        using var evictions = new MetricCollector<long>(_services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.store.evictions");
        using var store = CreateStore(sizeLimit: 4096, perScope: 4096);
        await CompleteAsync(store, Key('A', 0), bodyBytes: 1000, Hour);
        await CompleteAsync(store, Key('A', 1), bodyBytes: 1000, Hour);

        await FillAsync(store, 'B');

        Assert.Empty(evictions.GetMeasurementSnapshot());
        Assert.Equal(IdempotencyBeginStatus.Completed, (await store.TryBeginAsync(Key('A', 0), Fingerprint, Hour, CancellationToken.None)).Status);
        Assert.Equal(IdempotencyBeginStatus.Completed, (await store.TryBeginAsync(Key('A', 1), Fingerprint, Hour, CancellationToken.None)).Status);
    }

    [Theory]
    [InlineData(1023, "MaxBytesPerScope must be at least 1024")]
    [InlineData(4097, "at most SizeLimitBytes (4096)")]
    public void An_out_of_range_quota_fails_validation_naming_the_option(long perScope, string message)
    {
        var result = new InMemoryIdempotencyStoreOptionsValidator().Validate(null, new InMemoryIdempotencyStoreOptions { SizeLimitBytes = 4096, MaxBytesPerScope = perScope });

        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(256L * 1024 * 1024, 64L * 1024 * 1024)]
    [InlineData(2048, 1024)]
    public void The_default_quota_is_a_quarter_of_the_store_and_at_least_1024(long sizeLimit, long expected)
    {
        var options = new InMemoryIdempotencyStoreOptions { SizeLimitBytes = sizeLimit };

        Assert.Null(options.MaxBytesPerScope);
        Assert.Equal(expected, options.EffectiveMaxBytesPerScope);
        Assert.False(options.EvictLiveRecordsWhenFull);
        Assert.True(new InMemoryIdempotencyStoreOptionsValidator().Validate(null, options).Succeeded);
    }

    public void Dispose() => _services.Dispose();

    /// <summary>A key of the scope <paramref name="scope"/>: its first 16 characters are the scope partition.</summary>
    private static string Key(char scope, int i) => new string(scope, RecordKey.ScopePartitionLength) + i.ToString("D48", CultureInfo.InvariantCulture);

    private static string? Tag(CollectedMeasurement<long> measurement, string name) => (string?)measurement.Tags[name];

    private static StoredResponse Response(int bodyBytes, int statusCode = 200) => new(statusCode, [], new byte[bodyBytes]);

    private static void AssertUsage(InMemoryIdempotencyStore store, string scopeKey, long bytes)
    {
        Assert.Null(store.FindAccountingError());
        Assert.Equal(bytes, store.ScopeBytes(scopeKey));
        Assert.Equal(bytes, store.SizeBytes);
    }

    /// <summary>Takes new keys (or streams) of <paramref name="scope"/> until the store refuses one; returns the refusal.</summary>
    private static async Task<IdempotencyStoreCapacityException> FillAsync(InMemoryIdempotencyStore store, char scope, bool stream = false)
    {
        for (var i = 1000; ; i++)
        {
            try
            {
                if (stream)
                {
                    await store.TryBeginSequenceAsync(Key(scope, i), 0, 1, Fingerprint, Hour, CancellationToken.None);
                }
                else
                {
                    await store.TryBeginAsync(Key(scope, i), Fingerprint, Hour, CancellationToken.None);
                }
            }
            catch (IdempotencyStoreCapacityException ex)
            {
                Assert.Null(store.FindAccountingError());
                return ex;
            }
        }
    }

    private InMemoryIdempotencyStore CreateStore(long sizeLimit, long perScope, bool evictLiveRecords = false)
        => new(
            Options.Create(new InMemoryIdempotencyStoreOptions
            {
                SizeLimitBytes = sizeLimit,
                MaxBytesPerScope = perScope,
                EvictLiveRecordsWhenFull = evictLiveRecords,
                ExpirationScanInterval = Hour,
            }),
            _time,
            _services.GetRequiredService<IMeterFactory>());

    private static async Task<long> AcquireAsync(InMemoryIdempotencyStore store, string key, TimeSpan? lease = null)
    {
        var result = await store.TryBeginAsync(key, Fingerprint, lease ?? Hour, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, result.Status);
        return result.FencingToken;
    }

    private static async Task<long> AcquireStreamAsync(InMemoryIdempotencyStore store, string key, TimeSpan? lease = null)
    {
        var result = await store.TryBeginSequenceAsync(key, 0, 1, Fingerprint, lease ?? Hour, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, result.Status);
        return result.FencingToken;
    }

    private static async Task CompleteAsync(InMemoryIdempotencyStore store, string key, int bodyBytes, TimeSpan retention)
    {
        var token = await AcquireAsync(store, key);
        Assert.True(await store.CompleteAsync(key, token, Response(bodyBytes), retention, CancellationToken.None));
    }
}
