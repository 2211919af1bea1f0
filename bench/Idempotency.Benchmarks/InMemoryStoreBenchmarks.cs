using BenchmarkDotNet.Attributes;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Benchmarks;

/// <summary>The in-memory store's operations: a first execution (begin on a new key, then complete) and a replay (begin on a completed key).</summary>
public class InMemoryStoreBenchmarks
{
    private const int Batch = 1024;
    private const int Seeded = 256;

    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    private readonly byte[] _fingerprint = new byte[32];
    private string[] _firstKeys = [];
    private string[] _seededKeys = [];
    private StoredResponse _response = null!;
    private InMemoryIdempotencyStore _replayStore = null!;
    private int _next;

    [Params(100, 4 * 1024, 64 * 1024)]
    public int BodySize { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        Random.Shared.NextBytes(_fingerprint);
        _response = new StoredResponse(
            201,
            [new("Content-Type", "application/json; charset=utf-8"), new("Location", new StringValues("/orders/ord_8e0f6a8c3b5e4b8f9a510c8d3f7b2a11"))],
            new byte[BodySize]);
        _firstKeys = Enumerable.Range(0, Batch).Select(i => RecordKey.Create("anonymous", $"first-{i}")).ToArray();
        _seededKeys = Enumerable.Range(0, Seeded).Select(i => RecordKey.Create("anonymous", $"seed-{i}")).ToArray();
        _replayStore = NewStore();
        foreach (var key in _seededKeys)
        {
            var begin = await _replayStore.TryBeginAsync(key, _fingerprint, Lease, CancellationToken.None);
            await _replayStore.CompleteAsync(key, begin.FencingToken, _response, Retention, CancellationToken.None);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _replayStore.Dispose();

    /// <summary>Begin and complete on new keys, 1024 per invocation into a fresh store (its set-up is amortized over them).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task<bool> FirstExecution()
    {
        using var store = NewStore();
        var completed = false;
        foreach (var key in _firstKeys)
        {
            var begin = await store.TryBeginAsync(key, _fingerprint, Lease, CancellationToken.None);
            completed = await store.CompleteAsync(key, begin.FencingToken, _response, Retention, CancellationToken.None);
        }

        return completed;
    }

    /// <summary>Begin on a completed key: the stored response comes back.</summary>
    [Benchmark]
    public async Task<IdempotencyBeginStatus> Replay()
    {
        var key = _seededKeys[_next++ % Seeded];
        var begin = await _replayStore.TryBeginAsync(key, _fingerprint, Lease, CancellationToken.None);
        return begin.Status;
    }

    private static InMemoryIdempotencyStore NewStore()
        => new(Options.Create(new InMemoryIdempotencyStoreOptions { SizeLimitBytes = 4L * 1024 * 1024 * 1024 }), TimeProvider.System);
}
