using System.Globalization;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Idempotency.Tests.Storage;

/// <summary>
/// The in-memory store's size limit bounds the heap: the bytes it counts for its records are at least what they
/// really cost on the managed heap, and not wildly more. Measured with full collections around filling a store.
/// </summary>
[Collection(HeapMeasurementCollection.Name)]
public sealed class InMemoryStoreHeapAccountingTests(ITestOutputHelper output)
{
    // Large enough that a few kilobytes of unrelated allocation are noise next to the store's growth.
    private const int Records = 20_000;

    private static readonly byte[] Fingerprint = new byte[32];

    public static TheoryData<string, int, bool> Shapes => new()
    {
        // The bench's trivial handler: a 58-byte JSON body, its content type and a location.
        { "small body, two headers", 58, false },
        { "small body, two headers, evictable", 58, true },
        { "4 KiB body, two headers", 4096, false },
        { "no body, two headers", 0, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task The_bytes_counted_for_completed_records_cover_their_heap_cost_within_a_margin(string shape, int bodyBytes, bool evictable)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
        using var store = new InMemoryIdempotencyStore(
            Options.Create(new InMemoryIdempotencyStoreOptions
            {
                SizeLimitBytes = 1L << 32,
                EvictLiveRecordsWhenFull = evictable,
                ExpirationScanInterval = TimeSpan.FromHours(1),
            }),
            time);
        var retention = TimeSpan.FromHours(24);

        var before = MeasureHeap();
        for (var i = 0; i < Records; i++)
        {
            // The middleware's shapes: a store key of its own per request, an exactly sized body, and a header list
            // sized for the response's headers before filtering (known header names are shared literals).
            var key = "scope-partition-" + i.ToString("D20", CultureInfo.InvariantCulture) + "/orders";
            var headers = new List<KeyValuePair<string, StringValues>>(4)
            {
                new("Content-Type", "application/json; charset=utf-8"),
                new("Location", "/orders/" + i.ToString(CultureInfo.InvariantCulture)),
            };
            var begin = await store.TryBeginAsync(key, Fingerprint, TimeSpan.FromMinutes(1), CancellationToken.None);
            var body = bodyBytes == 0 ? ReadOnlyMemory<byte>.Empty : new byte[bodyBytes];
            Assert.True(await store.CompleteAsync(key, begin.FencingToken, new StoredResponse(201, headers, body), retention, CancellationToken.None));
        }

        var grown = MeasureHeap() - before;
        var counted = store.SizeBytes;
        GC.KeepAlive(store);

        output.WriteLine($"{shape}: counted {counted / (double)Records:F0} B per record, heap {grown / (double)Records:F0} B per record, ratio {counted / (double)grown:F2}");
        Assert.Equal(Records, store.Count);
        Assert.True(counted >= grown * 0.95, $"{shape}: the store counts {counted} bytes for records that took {grown} bytes of heap.");
        Assert.True(counted <= grown * 1.5, $"{shape}: the store counts {counted} bytes for records that took only {grown} bytes of heap.");
    }

    private static long MeasureHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
