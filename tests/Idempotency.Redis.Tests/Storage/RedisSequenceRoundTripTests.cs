using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// What each stream operation costs on the wire, counted by the server itself (INFO commandstats): one script call
/// each, and no writes for a begin that only answers. This class has a server of its own, so no other test's traffic
/// lands in the counts.
/// </summary>
public sealed class RedisSequenceRoundTripTests(RedisStoreFixture server, ITestOutputHelper output) : IClassFixture<RedisStoreFixture>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromMinutes(5);
    private static readonly byte[] Fingerprint = [1, 2, 3, 4];
    private static readonly StoredResponse Response = new(201, [new("Location", "/transfers/1")], "{\"id\":1}"u8.ToArray());

    private readonly string _keyPrefix = TestStores.UniquePrefix("sequence-round-trips");

    private async Task<RedisIdempotencyStore> CreateWarmStoreAsync()
    {
        var store = TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);

        // The first use of each script per server also loads it; the steady state is measured once all four ran.
        var warmUp = await store.TryBeginSequenceAsync("warm-up", 0, 1, Fingerprint, Lease, CancellationToken.None);
        await store.RenewSequenceLeaseAsync("warm-up", warmUp.FencingToken, Lease, CancellationToken.None);
        await store.ReleaseSequenceAsync("warm-up", warmUp.FencingToken, CancellationToken.None);
        warmUp = await store.TryBeginSequenceAsync("warm-up", 0, 1, Fingerprint, Lease, CancellationToken.None);
        await store.CompleteSequenceAsync("warm-up", warmUp.FencingToken, Response, 2, Retention, CancellationToken.None);
        return store;
    }

    private async Task<T> MeasureAsync<T>(string operation, Func<Task<T>> action, bool writes)
    {
        await CommandStats.ResetAsync(server.Port);
        var result = await action();
        var calls = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"{operation}: {CommandStats.Format(calls)}");

        Assert.Equal(1, calls.GetValueOrDefault("evalsha"));
        Assert.Equal(0, calls.GetValueOrDefault("eval"));
        Assert.Equal(0, calls.GetValueOrDefault("script"));
        foreach (var command in calls.Keys)
        {
            Assert.True(
                command == "evalsha" || CommandStats.ScriptInternal.Contains(command) || CommandStats.IsHousekeeping(command),
                $"{operation} sent '{command}' besides its script.");
        }

        // Every stream script reads the stream with exactly one HMGET, so one HMGET proves the body ran once.
        Assert.Equal(1, calls.GetValueOrDefault("hmget"));
        if (!writes)
        {
            Assert.DoesNotContain(calls.Keys, CommandStats.ScriptWrites.Contains);
        }

        return result;
    }

    private Task<SequenceBeginResult> BeginAsync(IIdempotencySequenceStore store, string stream, long epoch, long number, byte[]? fingerprint = null)
        => store.TryBeginSequenceAsync(stream, epoch, number, fingerprint ?? Fingerprint, Lease, CancellationToken.None).AsTask();

    [Fact]
    public async Task Begin_complete_renew_and_release_are_one_evalsha_each()
    {
        var store = await CreateWarmStoreAsync();

        var begun = await MeasureAsync("begin (acquire, new stream)", () => BeginAsync(store, "ops", 0, 1), writes: true);
        Assert.True(await MeasureAsync("renew", () => store.RenewSequenceLeaseAsync("ops", begun.FencingToken, Lease, CancellationToken.None).AsTask(), writes: true));
        Assert.True(await MeasureAsync("release", () => store.ReleaseSequenceAsync("ops", begun.FencingToken, CancellationToken.None).AsTask(), writes: true));
        begun = await BeginAsync(store, "ops", 0, 1);
        Assert.True(await MeasureAsync("complete (first)", () => store.CompleteSequenceAsync("ops", begun.FencingToken, Response, 2, Retention, CancellationToken.None).AsTask(), writes: true));
        for (var number = 2; number <= 4; number++)
        {
            var next = await MeasureAsync("begin (acquire)", () => BeginAsync(store, "ops", 0, number), writes: true);
            Assert.True(await MeasureAsync("complete (trims one)", () => store.CompleteSequenceAsync("ops", next.FencingToken, Response, 2, Retention, CancellationToken.None).AsTask(), writes: true));
        }
    }

    [Fact]
    public async Task A_steady_complete_deletes_the_leaving_number_with_one_HDEL_and_no_scan()
    {
        var store = await CreateWarmStoreAsync();
        for (var number = 1; number <= 3; number++)
        {
            var begun = await BeginAsync(store, "steady", 0, number);
            await store.CompleteSequenceAsync("steady", begun.FencingToken, Response, 2, Retention, CancellationToken.None);
        }

        var next = await BeginAsync(store, "steady", 0, 4);
        await CommandStats.ResetAsync(server.Port);
        await store.CompleteSequenceAsync("steady", next.FencingToken, Response, 2, Retention, CancellationToken.None);
        var calls = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"steady complete: {CommandStats.Format(calls)}");

        // One HDEL frees the slot and drops the leaving number; one HSET writes the new state; PEXPIRE the retention.
        Assert.Equal(0, calls.GetValueOrDefault("hkeys"));
        Assert.Equal(1, calls.GetValueOrDefault("hdel"));
        Assert.Equal(1, calls.GetValueOrDefault("hset"));
        Assert.Equal(1, calls.GetValueOrDefault("pexpire"));
    }

    [Fact]
    public async Task A_begin_that_only_answers_is_one_evalsha_without_writes()
    {
        var store = await CreateWarmStoreAsync();
        var first = await BeginAsync(store, "answers", 5, 1);
        await store.CompleteSequenceAsync("answers", first.FencingToken, Response, 1, Retention, CancellationToken.None);
        var second = await BeginAsync(store, "answers", 5, 2);
        await store.CompleteSequenceAsync("answers", second.FencingToken, Response, 1, Retention, CancellationToken.None);
        await BeginAsync(store, "answers", 5, 3);

        Assert.Equal(SequenceBeginStatus.Completed, (await MeasureAsync("begin (replay)", () => BeginAsync(store, "answers", 5, 2), writes: false)).Status);
        Assert.Equal(SequenceBeginStatus.FingerprintMismatch, (await MeasureAsync("begin (mismatch)", () => BeginAsync(store, "answers", 5, 2, [9]), writes: false)).Status);
        Assert.Equal(SequenceBeginStatus.AlreadyApplied, (await MeasureAsync("begin (already applied)", () => BeginAsync(store, "answers", 5, 1), writes: false)).Status);
        Assert.Equal(SequenceBeginStatus.InFlight, (await MeasureAsync("begin (in flight)", () => BeginAsync(store, "answers", 5, 3), writes: false)).Status);
        Assert.Equal(SequenceBeginStatus.Gap, (await MeasureAsync("begin (gap)", () => BeginAsync(store, "answers", 5, 9), writes: false)).Status);
        Assert.Equal(SequenceBeginStatus.EpochFenced, (await MeasureAsync("begin (fenced)", () => BeginAsync(store, "answers", 4, 3), writes: false)).Status);
    }

    [Fact]
    public async Task A_numbered_request_executed_once_costs_two_round_trips()
    {
        var store = await CreateWarmStoreAsync();

        await CommandStats.ResetAsync(server.Port);
        var begun = await BeginAsync(store, "spec", 0, 1);
        await store.CompleteSequenceAsync("spec", begun.FencingToken, Response, 16, Retention, CancellationToken.None);
        var calls = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"first execution: {CommandStats.Format(calls)}");

        Assert.Equal(2, calls.GetValueOrDefault("evalsha"));
        Assert.Equal(0, calls.GetValueOrDefault("eval"));
    }

    [Fact]
    public async Task Stream_operations_recover_after_the_script_cache_is_flushed()
    {
        var store = await CreateWarmStoreAsync();
        var begun = await BeginAsync(store, "flushed", 0, 1);

        await server.ExecuteAsync("SCRIPT", "FLUSH");
        await CommandStats.ResetAsync(server.Port);
        var completed = await store.CompleteSequenceAsync("flushed", begun.FencingToken, Response, 16, Retention, CancellationToken.None);
        var calls = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"complete after SCRIPT FLUSH: {CommandStats.Format(calls)}");

        Assert.True(completed);
        Assert.Equal(1, calls.GetValueOrDefault("hmget"));
        Assert.Equal(SequenceBeginStatus.Completed, (await BeginAsync(store, "flushed", 0, 1)).Status);
    }
}
