using System.Diagnostics;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// The store against a server that dies and comes back. The class has a server of its own, because stopping it would
/// break any other test sharing it.
/// </summary>
public sealed class RedisStoreFaultTests(RedisServerFixture server, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private static readonly TimeSpan FailFastBound = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(20);
    private static readonly byte[] Fingerprint = [42];
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly StoredResponse Response = new(200, [], "done"u8.ToArray());

    [Fact]
    public async Task Record_and_stream_operations_fail_fast_as_unavailable_while_Redis_is_down_and_the_same_store_works_again_when_it_is_back()
    {
        // A connection the store creates and configures itself (fail-fast backlog), as in production.
        var store = TestStores.Create(new RedisIdempotencyStoreOptions
        {
            Configuration = server.ConnectionString,
            KeyPrefix = TestStores.UniquePrefix("faults"),
        });
        var before = await store.TryBeginAsync("before", Fingerprint, Lease, CancellationToken.None);
        var stream = await store.TryBeginSequenceAsync("stream", 0, 1, Fingerprint, Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, before.Status);
        Assert.Equal(SequenceBeginStatus.Acquired, stream.Status);

        await server.StopServerAsync();
        try
        {
            await AssertFailsFastAsync("begin", () => store.TryBeginAsync("during", Fingerprint, Lease, CancellationToken.None).AsTask());
            await AssertFailsFastAsync("renew", () => store.RenewLeaseAsync("before", before.FencingToken, Lease, CancellationToken.None).AsTask());
            await AssertFailsFastAsync("complete", () => store.CompleteAsync("before", before.FencingToken, Response, Lease, CancellationToken.None).AsTask());
            await AssertFailsFastAsync("release", () => store.ReleaseAsync("before", before.FencingToken, CancellationToken.None).AsTask());
            await AssertFailsFastAsync("stream begin", () => store.TryBeginSequenceAsync("during", 0, 1, Fingerprint, Lease, CancellationToken.None).AsTask());
            await AssertFailsFastAsync("stream renew", () => store.RenewSequenceLeaseAsync("stream", stream.FencingToken, Lease, CancellationToken.None).AsTask());
            await AssertFailsFastAsync("stream complete", () => store.CompleteSequenceAsync("stream", stream.FencingToken, Response, 4, Lease, CancellationToken.None).AsTask());
            await AssertFailsFastAsync("stream release", () => store.ReleaseSequenceAsync("stream", stream.FencingToken, CancellationToken.None).AsTask());
        }
        finally
        {
            await server.StartServerAsync();
        }

        // The restarted server has lost its data and its script cache: the store must reconnect and reload on its own.
        var recovery = Stopwatch.StartNew();
        IdempotencyBeginResult after = default;
        while (true)
        {
            try
            {
                after = await store.TryBeginAsync("after", Fingerprint, Lease, CancellationToken.None);
                break;
            }
            catch (IdempotencyStoreUnavailableException) when (recovery.Elapsed < RecoveryBound)
            {
                await Task.Delay(50);
            }
        }

        output.WriteLine($"the store worked again {recovery.Elapsed.TotalMilliseconds:F0} ms after the server restarted");
        Assert.Equal(IdempotencyBeginStatus.Acquired, after.Status);
        Assert.True(await store.CompleteAsync("after", after.FencingToken, Response, Lease, CancellationToken.None));
        Assert.Equal(IdempotencyBeginStatus.Completed, (await store.TryBeginAsync("after", Fingerprint, Lease, CancellationToken.None)).Status);
    }

    private async Task AssertFailsFastAsync(string operation, Func<Task> action)
    {
        var stopwatch = Stopwatch.StartNew();
        var attempt = action();

        // Bounded so that a regression shows as a failure, not as a hung test run.
        var finished = await Task.WhenAny(attempt, Task.Delay(FailFastBound * 3));
        Assert.Same(attempt, finished);
        var error = await Record.ExceptionAsync(() => attempt);
        stopwatch.Stop();

        output.WriteLine($"{operation} while down: {error?.GetType().Name} after {stopwatch.Elapsed.TotalMilliseconds:F0} ms");
        // The one signal the middleware answers with 503 (or fail-open), with Redis's own exception inside.
        Assert.True(error is IdempotencyStoreUnavailableException { InnerException: RedisException or TimeoutException }, $"{operation} should fail as unavailable, got {error}");
        Assert.True(stopwatch.Elapsed < FailFastBound, $"{operation} took {stopwatch.Elapsed} to fail");
    }
}
