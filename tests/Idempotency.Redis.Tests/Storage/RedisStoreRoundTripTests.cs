using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// What each operation costs on the wire, counted by the server itself (INFO commandstats). This class has a server of
/// its own, so no other test's traffic lands in the counts.
/// </summary>
public sealed class RedisStoreRoundTripTests(RedisStoreFixture server, ITestOutputHelper output) : IClassFixture<RedisStoreFixture>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromMinutes(5);
    private static readonly byte[] Fingerprint = [1, 2, 3, 4];
    private static readonly StoredResponse Response = new(201, [new("Location", "/payments/1")], "{\"id\":1}"u8.ToArray());

    private readonly string _keyPrefix = TestStores.UniquePrefix("round-trips");

    private async Task<RedisIdempotencyStore> CreateWarmStoreAsync()
    {
        var store = TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);

        // StackExchange.Redis loads a script on its first use per server (SCRIPT LOAD pipelined with EVALSHA); the
        // steady state, which these tests measure, follows once every script has run once.
        var warmUp = await store.TryBeginAsync("warm-up-1", Fingerprint, Lease, CancellationToken.None);
        await store.RenewLeaseAsync("warm-up-1", warmUp.FencingToken, Lease, CancellationToken.None);
        await store.CompleteAsync("warm-up-1", warmUp.FencingToken, Response, Retention, CancellationToken.None);
        var release = await store.TryBeginAsync("warm-up-2", Fingerprint, Lease, CancellationToken.None);
        await store.ReleaseAsync("warm-up-2", release.FencingToken, CancellationToken.None);
        return store;
    }

    private async Task<T> MeasureAsync<T>(string operation, Func<Task<T>> action, int expectedScriptCalls = 1)
    {
        await CommandStats.ResetAsync(server.Port);
        var result = await action();
        var calls = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"{operation}: {CommandStats.Format(calls)}");

        Assert.Equal(expectedScriptCalls, calls.GetValueOrDefault("evalsha"));
        Assert.Equal(0, calls.GetValueOrDefault("eval"));
        Assert.Equal(0, calls.GetValueOrDefault("script"));
        foreach (var command in calls.Keys)
        {
            Assert.True(
                command == "evalsha" || CommandStats.ScriptInternal.Contains(command) || CommandStats.IsHousekeeping(command),
                $"{operation} sent '{command}' besides its script.");
        }

        // One HMGET per script proves the script body ran exactly once.
        Assert.Equal(expectedScriptCalls, calls.GetValueOrDefault("hmget"));
        return result;
    }

    [Fact]
    public async Task Begin_on_a_new_key_is_one_evalsha()
    {
        var store = await CreateWarmStoreAsync();

        var result = await MeasureAsync("begin (new key)", () => store.TryBeginAsync("new", Fingerprint, Lease, CancellationToken.None).AsTask());

        Assert.Equal(IdempotencyBeginStatus.Acquired, result.Status);
    }

    [Fact]
    public async Task Complete_is_one_evalsha_and_replay_is_one_evalsha()
    {
        var store = await CreateWarmStoreAsync();
        var begun = await store.TryBeginAsync("complete", Fingerprint, Lease, CancellationToken.None);

        var completed = await MeasureAsync("complete", () => store.CompleteAsync("complete", begun.FencingToken, Response, Retention, CancellationToken.None).AsTask());
        var replay = await MeasureAsync("begin (replay)", () => store.TryBeginAsync("complete", Fingerprint, Lease, CancellationToken.None).AsTask());

        Assert.True(completed);
        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
        Assert.Equal(Response.Body.ToArray(), replay.Response!.Body.ToArray());
    }

    [Fact]
    public async Task Renew_release_in_flight_and_mismatch_are_one_evalsha_each()
    {
        var store = await CreateWarmStoreAsync();
        var begun = await store.TryBeginAsync("others", Fingerprint, Lease, CancellationToken.None);

        Assert.True(await MeasureAsync("renew", () => store.RenewLeaseAsync("others", begun.FencingToken, Lease, CancellationToken.None).AsTask()));
        Assert.Equal(
            IdempotencyBeginStatus.InFlight,
            (await MeasureAsync("begin (in flight)", () => store.TryBeginAsync("others", Fingerprint, Lease, CancellationToken.None).AsTask())).Status);
        Assert.Equal(
            IdempotencyBeginStatus.FingerprintMismatch,
            (await MeasureAsync("begin (mismatch)", () => store.TryBeginAsync("others", new byte[] { 9 }, Lease, CancellationToken.None).AsTask())).Status);
        Assert.True(await MeasureAsync("release", () => store.ReleaseAsync("others", begun.FencingToken, CancellationToken.None).AsTask()));
    }

    [Fact]
    public async Task A_first_execution_costs_two_round_trips_and_a_replay_one()
    {
        var store = await CreateWarmStoreAsync();

        await CommandStats.ResetAsync(server.Port);
        var begun = await store.TryBeginAsync("spec", Fingerprint, Lease, CancellationToken.None);
        await store.CompleteAsync("spec", begun.FencingToken, Response, Retention, CancellationToken.None);
        var afterExecution = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"first execution: {CommandStats.Format(afterExecution)}");

        Assert.Equal(2, afterExecution.GetValueOrDefault("evalsha"));
    }

    [Fact]
    public async Task Operations_recover_after_the_script_cache_is_flushed()
    {
        var store = await CreateWarmStoreAsync();
        var begun = await store.TryBeginAsync("flushed", Fingerprint, Lease, CancellationToken.None);

        await server.ExecuteAsync("SCRIPT", "FLUSH");
        await CommandStats.ResetAsync(server.Port);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var completed = await store.CompleteAsync("flushed", begun.FencingToken, Response, Retention, CancellationToken.None);
        stopwatch.Stop();
        var calls = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"complete after SCRIPT FLUSH ({stopwatch.Elapsed.TotalMilliseconds:F1} ms): {CommandStats.Format(calls)}");

        Assert.True(completed);
        Assert.Equal(1, calls.GetValueOrDefault("hmget"));
        Assert.Equal(1, calls.GetValueOrDefault("hset"));

        await server.ExecuteAsync("SCRIPT", "FLUSH");
        var replay = await store.TryBeginAsync("flushed", Fingerprint, Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
    }

    [Fact]
    public async Task The_first_use_of_a_script_loads_it_in_the_same_round_trip()
    {
        // A connection of its own: the shared one already knows the scripts.
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration(server.ConnectionString));
        var store = TestStores.Create(connection, _keyPrefix);
        await server.ExecuteAsync("SCRIPT", "FLUSH");

        await CommandStats.ResetAsync(server.Port);
        var result = await store.TryBeginAsync("cold", Fingerprint, Lease, CancellationToken.None);
        var calls = await CommandStats.ReadAsync(server.Port);
        output.WriteLine($"cold begin: {CommandStats.Format(calls)}");

        Assert.Equal(IdempotencyBeginStatus.Acquired, result.Status);
        Assert.Equal(1, calls.GetValueOrDefault("hmget"));
    }
}
