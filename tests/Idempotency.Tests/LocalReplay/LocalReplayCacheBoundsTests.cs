using Idempotency.Diagnostics;
using Idempotency.Execution;
using Idempotency.LocalReplay;
using Idempotency.Policies;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using System.Diagnostics.Metrics;

namespace Idempotency.Tests.LocalReplay;

/// <summary>The cache's own bounds and races, on the cache alone: what it holds, for how long, and what it refuses.</summary>
public sealed class LocalReplayCacheBoundsTests : IDisposable
{
    private static readonly byte[] Fingerprint = [1, 2, 3];

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _services.Dispose();

    [Fact]
    public void Entries_are_bounded_in_bytes_and_the_oldest_leave_first()
    {
        var response = Response(bodyBytes: 1000);
        var size = LocalReplayCache.Measure(response);
        var cache = Create(cache => cache.SizeLimit = (3 * size) + (size / 2));

        foreach (var key in new[] { "A", "B", "C", "D" })
        {
            cache.Add(cache.Start(), key, Fingerprint, response, TimeSpan.FromHours(1));
        }

        Assert.Null(cache.Find("A", "p"));
        Assert.NotNull(cache.Find("B", "p"));
        Assert.NotNull(cache.Find("C", "p"));
        Assert.NotNull(cache.Find("D", "p"));
        Assert.Equal(3 * size, Observe("idempotency.local_replay.size", cache));
    }

    [Fact]
    public void The_size_counts_the_whole_buffer_a_body_is_a_slice_of()
    {
        var buffer = new byte[64 * 1024];
        var sliced = new StoredResponse(200, [], buffer.AsMemory(0, 10));
        var exact = new StoredResponse(200, [], buffer.AsMemory(0, 10).ToArray());

        Assert.Equal(LocalReplayCache.Measure(exact) - 10 + buffer.Length, LocalReplayCache.Measure(sliced));
        Assert.True(LocalReplayCache.Measure(exact) >= LocalReplayCache.EntryOverheadBytes + 10);
    }

    [Fact]
    public void An_answer_given_before_an_invalidation_is_not_cached_after_it()
    {
        var cache = Create();
        var ticket = cache.Start();

        // The store answered "completed" (ticket taken before asking); then an admin deleted the record; then the
        // answer arrives to be cached.
        cache.Invalidate("A");
        cache.Add(ticket, "A", Fingerprint, Response(bodyBytes: 10), TimeSpan.FromHours(1));

        Assert.Null(cache.Find("A", "p"));
        cache.Add(cache.Start(), "A", Fingerprint, Response(bodyBytes: 10), TimeSpan.FromHours(1));
        Assert.NotNull(cache.Find("A", "p"));
    }

    [Fact]
    public void An_invalidated_entry_leaves_at_once_and_stops_counting_once_it_leaves_the_order()
    {
        var cache = Create(cache => cache.MaximumEntries = 2);
        cache.Add(cache.Start(), "A", Fingerprint, Response(bodyBytes: 10), TimeSpan.FromHours(1));
        cache.Add(cache.Start(), "B", Fingerprint, Response(bodyBytes: 10), TimeSpan.FromHours(1));

        cache.Invalidate("A");
        Assert.Null(cache.Find("A", "p"));
        cache.Add(cache.Start(), "C", Fingerprint, Response(bodyBytes: 10), TimeSpan.FromHours(1));

        // A left the order at the head, so C took its place without pushing B out.
        Assert.NotNull(cache.Find("B", "p"));
        Assert.NotNull(cache.Find("C", "p"));
        Assert.Equal(2, Observe("idempotency.local_replay.entries", cache));
    }

    [Fact]
    public void An_entry_lives_from_when_the_store_was_asked_not_from_its_answer()
    {
        var cache = Create(cache => cache.Expiration = TimeSpan.FromSeconds(10));
        var ticket = cache.Start();
        _time.Advance(TimeSpan.FromSeconds(4));
        cache.Add(ticket, "A", Fingerprint, Response(bodyBytes: 10), TimeSpan.FromHours(1));

        _time.Advance(TimeSpan.FromSeconds(6) - TimeSpan.FromTicks(1));
        Assert.NotNull(cache.Find("A", "p"));
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Null(cache.Find("A", "p"));
    }

    [Fact]
    public void A_fingerprint_matches_only_itself()
    {
        var cache = Create();
        cache.Add(cache.Start(), "A", Fingerprint, Response(bodyBytes: 10), TimeSpan.FromHours(1));
        var entry = cache.Find("A", "p")!;

        Assert.True(entry.Matches([1, 2, 3]));
        Assert.False(entry.Matches([1, 2, 4]));
        Assert.False(entry.Matches([1, 2]));
        Assert.False(entry.Matches([]));
    }

    [Fact]
    public async Task A_hit_through_the_store_call_path_allocates_nothing()
    {
        var options = new IdempotencyOptions();
        options.DefaultPolicy.UseLocalReplayCache = true;
        var policy = new ResolvedPolicy(IdempotencyOptions.DefaultPolicyName, options.DefaultPolicy, options);
        var meters = _services.GetRequiredService<IMeterFactory>();
        var store = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), _time);
        var cache = new LocalReplayCache(Options.Create(options), _time, meters);
        using var telemetry = new IdempotencyTelemetry(meters, nameof(InMemoryIdempotencyStore));
        var calls = new StoreCalls(store, telemetry, Options.Create(options), _time, cache);
        var target = StoreTarget.Record(new string('A', 64), [1, 2, 3]);
        var acquired = await store.TryBeginAsync(target.Key, target.Fingerprint, policy.Lease, CancellationToken.None);
        await store.CompleteAsync(target.Key, acquired.FencingToken, Response(bodyBytes: 10), policy.Retention, CancellationToken.None);
        Assert.Equal(BeginDecision.Completed, (await calls.BeginAsync(target, policy, services: null)).Decision);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var hit = calls.BeginAsync(target, policy, services: null);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(hit.IsCompletedSuccessfully);
        Assert.Equal(BeginDecision.Completed, (await hit).Decision);
        Assert.Equal(0, allocated);
    }

    private static StoredResponse Response(int bodyBytes)
        => new(201, [new("Content-Type", new StringValues("application/json"))], new byte[bodyBytes]);

    private LocalReplayCache Create(Action<LocalReplayCacheOptions>? configure = null)
    {
        var options = new IdempotencyOptions();
        options.DefaultPolicy.UseLocalReplayCache = true;
        configure?.Invoke(options.LocalReplayCache);
        return new LocalReplayCache(Options.Create(options), _time, _services.GetRequiredService<IMeterFactory>());
    }

    private long? Observe(string instrument, LocalReplayCache cache)
    {
        GC.KeepAlive(cache);
        using var collector = new MetricCollector<long>(_services.GetRequiredService<IMeterFactory>(), "Idempotency", instrument);
        collector.RecordObservableInstruments();
        return collector.LastMeasurement?.Value;
    }
}
