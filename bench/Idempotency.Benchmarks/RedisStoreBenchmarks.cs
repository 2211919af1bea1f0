using BenchmarkDotNet.Attributes;
using Idempotency.Benchmarks.Infrastructure;
using Idempotency.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Idempotency.Benchmarks;

/// <summary>
/// The Redis store's operations against a local redis-server, through the public registration (<c>AddRedisStore</c>):
/// a first execution is two round trips (begin, complete), a replay one. Loopback latency dominates; the allocations are
/// the client's and the snapshot format's.
/// </summary>
public class RedisStoreBenchmarks
{
    private const int Seeded = 256;

    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    // First executions write a record per operation; a short retention keeps Redis's memory to seconds of them.
    private static readonly TimeSpan ShortRetention = TimeSpan.FromSeconds(2);

    private readonly byte[] _fingerprint = new byte[32];
    private LocalRedis _redis = null!;
    private ServiceProvider _services = null!;
    private IIdempotencyStore _store = null!;
    private StoredResponse _response = null!;
    private string[] _seededKeys = [];
    private string _runPrefix = string.Empty;
    private long _next;

    [Params(100, 4 * 1024, 64 * 1024)]
    public int BodySize { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _redis = LocalRedis.Start();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIdempotency().AddRedisStore(options => options.Configuration = _redis.Configuration);
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<IIdempotencyStore>();
        Random.Shared.NextBytes(_fingerprint);
        _response = new StoredResponse(
            201,
            [new("Content-Type", "application/json; charset=utf-8"), new("Location", new StringValues("/orders/ord_8e0f6a8c3b5e4b8f9a510c8d3f7b2a11"))],
            new byte[BodySize]);
        _runPrefix = Guid.NewGuid().ToString("N")[..8];
        _seededKeys = Enumerable.Range(0, Seeded).Select(i => RecordKey.Create("anonymous", $"{_runPrefix}-seed-{i}")).ToArray();
        foreach (var key in _seededKeys)
        {
            var begin = await _store.TryBeginAsync(key, _fingerprint, Lease, CancellationToken.None);
            await _store.CompleteAsync(key, begin.FencingToken, _response, TimeSpan.FromHours(1), CancellationToken.None);
        }
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _services.DisposeAsync();
        _redis.Dispose();
    }

    [Benchmark]
    public async Task<bool> FirstExecution()
    {
        var key = RecordKey.Create("anonymous", $"{_runPrefix}-first-{Interlocked.Increment(ref _next)}");
        var begin = await _store.TryBeginAsync(key, _fingerprint, Lease, CancellationToken.None);
        return await _store.CompleteAsync(key, begin.FencingToken, _response, ShortRetention, CancellationToken.None);
    }

    [Benchmark]
    public async Task<IdempotencyBeginStatus> Replay()
    {
        var key = _seededKeys[Interlocked.Increment(ref _next) % Seeded];
        var begin = await _store.TryBeginAsync(key, _fingerprint, Lease, CancellationToken.None);
        return begin.Status;
    }
}
