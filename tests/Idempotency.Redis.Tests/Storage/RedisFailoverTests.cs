using System.Diagnostics;
using System.Diagnostics.Metrics;
using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>
/// A primary killed (SIGKILL) right after completions, its replica promoted (<c>REPLICAOF NO ONE</c>), and the
/// completed records counted on the new primary: each one missing is a retry that runs its operation again. The
/// replica replicates through a link that holds the primary's stream for a while (<see cref="LossLinkDelay"/>,
/// <see cref="LinkDelay"/>), so the writes of the last moments before the crash are lost deterministically, not by luck
/// of timing.
/// </summary>
public sealed class RedisFailoverTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan LinkDelay = TimeSpan.FromMilliseconds(150);

    // Longer than any pause a loaded machine puts between the last completion and the kill, so the loss without WAIT
    // does not depend on the scheduler; WAIT's test keeps the shorter delay, which each of its completions waits out.
    private static readonly TimeSpan LossLinkDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromMinutes(10);
    private static readonly ReadOnlyMemory<byte> Fingerprint = "fingerprint"u8.ToArray();
    private static readonly StoredResponse Response = new(201, [], "created"u8.ToArray());

    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public void Dispose() => _metrics.Dispose();

    [Fact]
    public async Task Without_replica_acknowledgement_a_failover_loses_the_completions_the_replica_had_not_received()
    {
        await using var pair = await RedisReplicationPair.StartAsync(LossLinkDelay);
        var prefix = TestStores.UniquePrefix("failover");

        var completed = await CompleteUntilPrimaryDiesAsync(pair, prefix, replicas: 0, completions: null, duration: TimeSpan.FromSeconds(1));
        var reExecutions = await CountReExecutionsAfterFailoverAsync(pair, prefix, completed);

        output.WriteLine($"ReplicasToAcknowledge = 0, link delay {LossLinkDelay.TotalMilliseconds} ms: {reExecutions} of {completed.Count} completed records lost in the failover (each a re-execution).");

        // The link held the last LossLinkDelay of writes when the primary died: those completions were acknowledged to the
        // caller and never reached the replica. This is the loss the option exists for; were it 0, the test below
        // could not tell the option from its absence.
        Assert.True(reExecutions > 0, $"Expected completions lost in the failover; all {completed.Count} survived.");
    }

    [Fact]
    public async Task With_one_replica_to_acknowledge_no_completion_is_lost_in_a_failover()
    {
        await using var pair = await RedisReplicationPair.StartAsync(LinkDelay);
        var prefix = TestStores.UniquePrefix("failover-wait");
        using var shortfalls = new MetricCollector<long>(_metrics.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.redis.replica_ack_shortfall");

        // Each WAIT lasts a link delay, and WAITs on one connection take turns: 16 completions take about 2.4 s.
        var completed = await CompleteUntilPrimaryDiesAsync(pair, prefix, replicas: 1, completions: 16, duration: null);
        var reExecutions = await CountReExecutionsAfterFailoverAsync(pair, prefix, completed);

        output.WriteLine($"ReplicasToAcknowledge = 1, link delay {LinkDelay.TotalMilliseconds} ms: {reExecutions} of {completed.Count} completed records lost in the failover.");
        Assert.Equal(16, completed.Count);
        Assert.Equal(0, reExecutions);
        Assert.Empty(shortfalls.GetMeasurementSnapshot());
    }

    /// <summary>
    /// A completion whose <c>WAIT</c> is under way when the primary dies gets no answer: the replica may not have the
    /// record, and a failover then loses it. The store must not report such a completion as written (its retry would
    /// count as a duplicate of a stored response): it fails, as any completion whose reply was lost, which the contract
    /// answers with one more run once the lease has ended. Under load this is the whole replication window: the
    /// completions written since the last acknowledged <c>WAIT</c> on each connection (the chaos failover scenario).
    /// </summary>
    [Fact]
    public async Task A_completion_whose_replica_acknowledgement_gets_no_answer_because_the_primary_died_is_reported_failed_and_is_lost()
    {
        await using var pair = await RedisReplicationPair.StartAsync(TimeSpan.Zero);
        var prefix = TestStores.UniquePrefix("unanswered");
        var logger = new FakeLogger<RedisIdempotencyStore>();
        await using (var store = CreateStore(pair.PrimaryConnectionString, prefix, replicas: 1, TimeSpan.FromSeconds(20), logger))
        {
            var begun = await store.Store.TryBeginAsync("key", Fingerprint, Lease, CancellationToken.None);

            // Once synchronized and begun (the handshake's round trips and the begin's WAIT would each wait it out):
            // the replica falls 5 s behind.
            pair.Link.Delay = TimeSpan.FromSeconds(5);
            var completion = store.Store.CompleteAsync("key", begun.FencingToken, Response, Retention, CancellationToken.None).AsTask();

            // The script has run and its WAIT waits for the replica, which the link keeps 5 s behind.
            var waiting = Stopwatch.StartNew();
            while (!completion.IsCompleted && await BlockedClientsAsync(pair.Primary.Port) == 0 && waiting.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }

            Assert.False(completion.IsCompleted, "The completion returned before its WAIT could be under way.");
            await pair.KillPrimaryAsync();

            await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(() => completion.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(logger.Collector.GetSnapshot(), record => record.Id.Id == RedisStoreLog.ReplicaAcknowledgementFailedId);
        }

        // And it was lost: the promoted replica never got the completion. It holds the lease the acknowledged begin
        // wrote, so the retry runs again only once that lease has ended, as after any failed completion.
        await pair.PromoteReplicaAsync();
        await using var promoted = CreateStore(pair.ReplicaConnectionString, prefix, replicas: 0, TimeSpan.FromSeconds(1));
        Assert.Equal(IdempotencyBeginStatus.InFlight, (await promoted.Store.TryBeginAsync("key", Fingerprint, Lease, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task With_replicas_to_acknowledge_a_begin_that_acquires_a_lease_or_a_renewal_sends_one_WAIT_and_a_begin_that_writes_nothing_sends_none()
    {
        await using var pair = await RedisReplicationPair.StartAsync(TimeSpan.Zero);

        // The acknowledgement timeout leaves a replica on a loaded machine time to answer: what is counted here is the
        // WAITs sent, and a shortfall (checked at the end) would only say the replica was slow.
        await using var store = CreateStore(pair.PrimaryConnectionString, TestStores.UniquePrefix("begin-wait"), replicas: 1, TimeSpan.FromSeconds(1));

        // Warm-up: the connection, the eviction check and the scripts' first load, while the new replica may still be
        // finishing its first synchronisation (the clean-clone CI once saw both warm-up WAITs time out at 300 ms).
        var warm = await store.Store.TryBeginAsync("warm-up", Fingerprint, Lease, CancellationToken.None);
        Assert.True(await store.Store.CompleteAsync("warm-up", warm.FencingToken, Response, Retention, CancellationToken.None));
        using var shortfalls = new MetricCollector<long>(_metrics.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.redis.replica_ack_shortfall");

        // A new lease: the handler may run only once the replica holds it.
        var lease = default(IdempotencyBeginResult);
        Assert.Equal(1, await WaitsDuringAsync(pair, async () =>
        {
            lease = await store.Store.TryBeginAsync("key", Fingerprint, Lease, CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.Acquired, lease.Status);
        }));

        // A renewal extends the lease its owner counts on: a failover must not shorten it, so it waits too.
        Assert.Equal(1, await WaitsDuringAsync(pair, async () => Assert.True(await store.Store.RenewLeaseAsync("key", lease.FencingToken, Lease, CancellationToken.None))));

        // In flight (409) and fingerprint mismatch (422) write nothing, so they wait for nothing.
        Assert.Equal(0, await WaitsDuringAsync(pair, async () => Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.Store.TryBeginAsync("key", Fingerprint, Lease, CancellationToken.None)).Status)));
        Assert.Equal(0, await WaitsDuringAsync(pair, async () => Assert.Equal(IdempotencyBeginStatus.FingerprintMismatch, (await store.Store.TryBeginAsync("key", "other"u8.ToArray(), Lease, CancellationToken.None)).Status)));

        // A replay is a read: no WAIT.
        var begun = await store.Store.TryBeginAsync("replayed", Fingerprint, Lease, CancellationToken.None);
        Assert.True(await store.Store.CompleteAsync("replayed", begun.FencingToken, Response, Retention, CancellationToken.None));
        Assert.Equal(0, await WaitsDuringAsync(pair, async () => Assert.Equal(IdempotencyBeginStatus.Completed, (await store.Store.TryBeginAsync("replayed", Fingerprint, Lease, CancellationToken.None)).Status)));

        // A takeover of an expired lease (100 ms, plus the 1 s acknowledgement timeout) writes a new one: it waits, as a
        // new lease does.
        var expiring = await store.Store.TryBeginAsync("expiring", Fingerprint, TimeSpan.FromMilliseconds(100), CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, expiring.Status);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await WaitsDuringAsync(pair, async () =>
        {
            var takeover = await store.Store.TryBeginAsync("expiring", Fingerprint, Lease, CancellationToken.None);
            Assert.Equal(IdempotencyBeginStatus.Acquired, takeover.Status);
            Assert.NotEqual(expiring.FencingToken, takeover.FencingToken);
        }));

        // Sequence mode: the same rule for a stream's lease.
        var streamLease = default(SequenceBeginResult);
        Assert.Equal(1, await WaitsDuringAsync(pair, async () =>
        {
            streamLease = await store.Store.TryBeginSequenceAsync("stream", 0, 1, Fingerprint, Lease, CancellationToken.None);
            Assert.Equal(SequenceBeginStatus.Acquired, streamLease.Status);
        }));
        Assert.Equal(1, await WaitsDuringAsync(pair, async () => Assert.True(await store.Store.RenewSequenceLeaseAsync("stream", streamLease.FencingToken, Lease, CancellationToken.None))));
        Assert.Equal(0, await WaitsDuringAsync(pair, async () => Assert.Equal(SequenceBeginStatus.InFlight, (await store.Store.TryBeginSequenceAsync("stream", 0, 1, Fingerprint, Lease, CancellationToken.None)).Status)));
        Assert.Equal(0, await WaitsDuringAsync(pair, async () => Assert.Equal(SequenceBeginStatus.Gap, (await store.Store.TryBeginSequenceAsync("stream", 0, 3, Fingerprint, Lease, CancellationToken.None)).Status)));

        Assert.Empty(shortfalls.GetMeasurementSnapshot());
    }

    /// <summary>
    /// The handler starts only once the begin's <c>WAIT</c> returned, up to <c>ReplicaAcknowledgeTimeout</c> after the
    /// lease was written: the lease written covers that wait, so the handler keeps its whole lease until the first
    /// renewal (a third of the lease after the begin returned), on the primary and on a replica promoted meanwhile.
    /// </summary>
    [Fact]
    public async Task With_replicas_to_acknowledge_a_begin_or_a_renewal_writes_its_lease_plus_the_acknowledgement_timeout()
    {
        await using var pair = await RedisReplicationPair.StartAsync(TimeSpan.Zero);
        var prefix = TestStores.UniquePrefix("begin-lease");
        var lease = TimeSpan.FromSeconds(10);
        var timeout = TimeSpan.FromSeconds(4);
        await using var store = CreateStore(pair.PrimaryConnectionString, prefix, replicas: 1, timeout);

        // Begun with a short lease, renewed with the long one: what is left is the renewal's.
        var begun = await store.Store.TryBeginAsync("key", Fingerprint, TimeSpan.FromSeconds(1), CancellationToken.None);
        var begunTtl = (long)(await Resp.ExecuteAsync(pair.Replica.Port, "PTTL", $"{prefix}{{key}}"))!;
        Assert.True(begunTtl > (TimeSpan.FromSeconds(1) + timeout - TimeSpan.FromSeconds(2)).TotalMilliseconds, $"The begun lease has {begunTtl} ms left on the replica; the begin asked for 1 s and may wait {timeout}.");
        Assert.True(await store.Store.RenewLeaseAsync("key", begun.FencingToken, lease, CancellationToken.None));
        Assert.Equal(SequenceBeginStatus.Acquired, (await store.Store.TryBeginSequenceAsync("stream", 0, 1, Fingerprint, lease, CancellationToken.None)).Status);

        // A record's lease is its key's expiry; a stream's is its slot deadline (sd), which also bounds the key's expiry.
        var recordTtl = (long)(await Resp.ExecuteAsync(pair.Replica.Port, "PTTL", $"{prefix}{{key}}"))!;
        var streamTtl = (long)(await Resp.ExecuteAsync(pair.Replica.Port, "PTTL", $"{prefix}{{stream}}:s"))!;
        var floor = (lease + timeout - TimeSpan.FromSeconds(2)).TotalMilliseconds;
        Assert.True(recordTtl > floor, $"The record's lease has {recordTtl} ms left on the replica; the begin asked for {lease} and may wait {timeout}.");
        Assert.True(streamTtl > floor, $"The stream's lease has {streamTtl} ms left on the replica; the begin asked for {lease} and may wait {timeout}.");
    }

    /// <summary>How many <c>WAIT</c>s the primary served while <paramref name="action"/> ran.</summary>
    private static async Task<long> WaitsDuringAsync(RedisReplicationPair pair, Func<Task> action)
    {
        await CommandStats.ResetAsync(pair.Primary.Port);
        await action();
        return (await CommandStats.ReadAsync(pair.Primary.Port)).GetValueOrDefault("wait");
    }

    /// <summary>
    /// A begin whose <c>WAIT</c> is under way when the primary dies: the replica may not hold the lease, so after a
    /// failover a retry could take it while the handler runs. The begin fails as unavailable (503 with Retry-After)
    /// and the handler never runs.
    /// </summary>
    [Fact]
    public async Task A_begin_whose_replica_acknowledgement_gets_no_answer_because_the_primary_died_is_answered_503_and_its_handler_never_runs()
    {
        await using var pair = await RedisReplicationPair.StartAsync(TimeSpan.Zero);
        pair.Link.Delay = TimeSpan.FromSeconds(10);
        await using var app = await RedisTestApp.StartAsync(
            pair.PrimaryConnectionString,
            TestStores.UniquePrefix("begin-unanswered"),
            configure: options => options.StoreTimeout = TimeSpan.FromSeconds(20),
            configureStore: options =>
            {
                options.ReplicasToAcknowledge = 1;
                options.ReplicaAcknowledgeTimeout = TimeSpan.FromSeconds(5);
            });

        var response = app.Client.SendAsync(RedisTestApp.Post("/items", RedisTestApp.NewKey()));

        // The begin script has run and its WAIT waits for the replica, which the link keeps 10 s behind.
        var waiting = Stopwatch.StartNew();
        while (!response.IsCompleted && await BlockedClientsAsync(pair.Primary.Port) == 0 && waiting.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.False(response.IsCompleted, "The request was answered before its begin's WAIT could be under way.");
        Assert.Equal(0, app.Handlers.Executions("items"));
        await pair.KillPrimaryAsync();

        using var down = await response.WaitAsync(TimeSpan.FromSeconds(30));
        await ProblemAssert.IsProblemAsync(down, System.Net.HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
        Assert.NotNull(down.Headers.RetryAfter);
        Assert.Equal(0, app.Handlers.Executions("items"));
    }

    /// <summary>
    /// A caller that stops waiting for a begin's <c>WAIT</c> (the middleware's <c>StoreTimeout</c>) answers 503 and runs
    /// nothing: the lease it left would only make every retry wait for it to expire, so the store releases it.
    /// </summary>
    [Fact]
    public async Task A_begin_cancelled_while_its_replica_acknowledgement_waits_is_cancelled_and_its_lease_released()
    {
        await using var pair = await RedisReplicationPair.StartAsync(TimeSpan.Zero);
        var prefix = TestStores.UniquePrefix("begin-cancelled");
        await using var store = CreateStore(pair.PrimaryConnectionString, prefix, replicas: 1, TimeSpan.FromSeconds(5));
        var warm = await store.Store.TryBeginAsync("warm-up", Fingerprint, Lease, CancellationToken.None);
        Assert.True(await store.Store.CompleteAsync("warm-up", warm.FencingToken, Response, Retention, CancellationToken.None));

        // The replica falls 10 s behind: the begin's WAIT outlasts the caller's patience.
        pair.Link.Delay = TimeSpan.FromSeconds(10);
        using var patience = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.Store.TryBeginAsync("key", Fingerprint, Lease, patience.Token).AsTask());

        // The release waits behind the WAIT on the connection (up to its 5 s timeout), then frees the key for the retry.
        var waiting = Stopwatch.StartNew();
        while ((long)(await Resp.ExecuteAsync(pair.Primary.Port, "EXISTS", $"{prefix}{{key}}"))! == 1 && waiting.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50);
        }

        Assert.Equal(0L, (long)(await Resp.ExecuteAsync(pair.Primary.Port, "EXISTS", $"{prefix}{{key}}"))!);
    }

    [Fact]
    public async Task The_lease_an_acknowledged_begin_wrote_survives_a_failover_and_a_retry_on_the_promoted_replica_finds_it_in_flight()
    {
        const int Keys = 8;
        await using var pair = await RedisReplicationPair.StartAsync(LossLinkDelay);
        var prefix = TestStores.UniquePrefix("begin-failover");
        await using (var store = CreateStore(pair.PrimaryConnectionString, prefix, replicas: 1, TimeSpan.FromSeconds(2)))
        {
            var begins = new Task<IdempotencyBeginResult>[Keys];
            for (var i = 0; i < Keys; i++)
            {
                begins[i] = store.Store.TryBeginAsync($"key-{i}", Fingerprint, Lease, CancellationToken.None).AsTask();
            }

            Assert.All(await Task.WhenAll(begins), begun => Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status));

            // Right after the leases were reported acquired, well within the link's delay: without WAIT, none has
            // reached the replica yet.
            await pair.KillPrimaryAsync();
        }

        await pair.PromoteReplicaAsync();
        await using var promoted = CreateStore(pair.ReplicaConnectionString, prefix, replicas: 0, TimeSpan.FromSeconds(1));
        for (var i = 0; i < Keys; i++)
        {
            // The first execution still holds its lease: the retry waits (409) instead of running beside it.
            Assert.Equal(IdempotencyBeginStatus.InFlight, (await promoted.Store.TryBeginAsync($"key-{i}", Fingerprint, Lease, CancellationToken.None)).Status);
        }
    }

    /// <summary>Clients the server holds blocked (a <c>WAIT</c> waiting for its replicas is one).</summary>
    private static async Task<int> BlockedClientsAsync(int port)
    {
        var info = await Resp.ExecuteStringAsync(port, "INFO", "clients");
        foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("blocked_clients:", StringComparison.Ordinal))
            {
                return int.Parse(line["blocked_clients:".Length..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    [Fact]
    public async Task A_completion_fewer_replicas_acknowledge_than_required_stands_and_is_logged_and_counted()
    {
        await using var pair = await RedisReplicationPair.StartAsync(TimeSpan.Zero);
        var prefix = TestStores.UniquePrefix("shortfall");
        using var shortfalls = new MetricCollector<long>(_metrics.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.redis.replica_ack_shortfall");
        var logger = new FakeLogger<RedisIdempotencyStore>();
        // Long enough that the one replica acknowledges within it on a starved machine (with 200 ms it sometimes had
        // not, and WAIT answered 0 of 2): the count the log names is then always 1.
        var timeout = TimeSpan.FromMilliseconds(1500);

        // Two replicas asked for, one exists: WAIT answers 1 when its timeout ends.
        await using var store = CreateStore(pair.PrimaryConnectionString, prefix, replicas: 2, timeout, logger);
        var begun = await store.Store.TryBeginAsync("key", Fingerprint, Lease, CancellationToken.None);
        var elapsed = Stopwatch.StartNew();
        Assert.True(await store.Store.CompleteAsync("key", begun.FencingToken, Response, Retention, CancellationToken.None));
        elapsed.Stop();

        var sequenceBegun = await store.Store.TryBeginSequenceAsync("stream", 0, 1, Fingerprint, Lease, CancellationToken.None);
        Assert.True(await store.Store.CompleteSequenceAsync("stream", sequenceBegun.FencingToken, Response, 8, Retention, CancellationToken.None));

        // The completion stands: a retry replays it.
        var replay = await store.Store.TryBeginAsync("key", Fingerprint, Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
        Assert.True(elapsed.Elapsed >= timeout - TimeSpan.FromMilliseconds(20), $"The completion returned after {elapsed.Elapsed}, before WAIT's {timeout} ran out.");

        // The begins that acquired fell short as well, and stand by the same rule: the lease is the caller's.
        Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
        Assert.Equal(SequenceBeginStatus.Acquired, sequenceBegun.Status);
        var measurements = shortfalls.GetMeasurementSnapshot();
        Assert.Equal(4, measurements.Count);
        Assert.All(measurements, measurement => Assert.Equal(nameof(RedisIdempotencyStore), measurement.Tags["idempotency.store"]));
        Assert.Equal(["begin", "begin_sequence", "complete", "complete_sequence"], measurements.Select(measurement => (string)measurement.Tags["idempotency.store.operation"]!).Order());

        var warnings = logger.Collector.GetSnapshot().Where(record => record.Id.Id == RedisStoreLog.ReplicaAcknowledgementShortfallId).ToList();
        Assert.Equal(4, warnings.Count);
        Assert.All(warnings, warning => Assert.Equal(LogLevel.Warning, warning.Level));
        Assert.Contains("acknowledged by 1 of the 2 replicas", warnings[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Waiting_for_one_replica_leaves_every_completion_on_the_replica_and_its_latency_is_measured()
    {
        const int Completions = 300;
        await using var pair = await RedisReplicationPair.StartAsync(TimeSpan.Zero);
        using var shortfalls = new MetricCollector<long>(_metrics.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.redis.replica_ack_shortfall");

        var without = await MeasureCompletionsAsync(pair, TestStores.UniquePrefix("latency"), replicas: 0, Completions);
        var prefix = TestStores.UniquePrefix("latency-wait");
        var with = await MeasureCompletionsAsync(pair, prefix, replicas: 1, Completions);

        output.WriteLine($"begin (a new lease), {Completions} sequential calls through a loopback link: p50 {Percentile(without.Begins, 0.5):F3} ms, p99 {Percentile(without.Begins, 0.99):F3} ms without WAIT; p50 {Percentile(with.Begins, 0.5):F3} ms, p99 {Percentile(with.Begins, 0.99):F3} ms with ReplicasToAcknowledge = 1.");
        output.WriteLine($"complete, {Completions} sequential calls through a loopback link: p50 {Percentile(without.Completions, 0.5):F3} ms, p99 {Percentile(without.Completions, 0.99):F3} ms without WAIT; p50 {Percentile(with.Completions, 0.5):F3} ms, p99 {Percentile(with.Completions, 0.99):F3} ms with ReplicasToAcknowledge = 1.");

        // WAIT holds the connection: concurrent completions on one connection take turns.
        var throughputWithout = await CountCompletionsAsync(pair, TestStores.UniquePrefix("throughput"), replicas: 0);
        var throughputWith = await CountCompletionsAsync(pair, TestStores.UniquePrefix("throughput-wait"), replicas: 1);
        output.WriteLine($"begin + complete, 8 concurrent callers on one connection for {ThroughputWindow.TotalSeconds} s: {throughputWithout} without WAIT, {throughputWith} with ReplicasToAcknowledge = 1.");

        // Every acknowledged completion is on the replica when CompleteAsync returns, and none fell short.
        Assert.Empty(shortfalls.GetMeasurementSnapshot());
        var onReplica = (long)(await Resp.ExecuteAsync(pair.Replica.Port, "EVAL", $"return #redis.call('KEYS', '{prefix}*')", "0"))!;
        Assert.Equal(Completions, onReplica);
    }

    private async Task<List<string>> CompleteUntilPrimaryDiesAsync(RedisReplicationPair pair, string prefix, int replicas, int? completions, TimeSpan? duration)
    {
        var completed = new List<string>();
        await using (var store = CreateStore(pair.PrimaryConnectionString, prefix, replicas, TimeSpan.FromSeconds(2)))
        {
            var elapsed = Stopwatch.StartNew();
            var next = 0;

            // Four callers at once, as concurrent requests would be.
            async Task RunAsync()
            {
                while (true)
                {
                    var number = Interlocked.Increment(ref next);
                    if ((completions is { } limit && number > limit) || (duration is { } time && elapsed.Elapsed >= time))
                    {
                        return;
                    }

                    var key = $"key-{number}";
                    var begun = await store.Store.TryBeginAsync(key, Fingerprint, Lease, CancellationToken.None);
                    Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
                    Assert.True(await store.Store.CompleteAsync(key, begun.FencingToken, Response, Retention, CancellationToken.None));
                    lock (completed)
                    {
                        completed.Add(key);
                    }
                }
            }

            await Task.WhenAll(RunAsync(), RunAsync(), RunAsync(), RunAsync());

            // Right after the last completion was acknowledged to its caller.
            await pair.KillPrimaryAsync();
        }

        return completed;
    }

    /// <summary>
    /// How many of the completed keys lost their completion in the failover: the retry finds no record and runs at
    /// once, or finds the replicated begin still in flight and runs once its lease has expired.
    /// </summary>
    private async Task<int> CountReExecutionsAfterFailoverAsync(RedisReplicationPair pair, string prefix, List<string> completed)
    {
        await pair.PromoteReplicaAsync();

        // The application reconnects to the new primary (as Sentinel or a managed endpoint would point it there) and
        // each client retries its request.
        await using var store = CreateStore(pair.ReplicaConnectionString, prefix, replicas: 0, TimeSpan.FromSeconds(1));
        var runAtOnce = 0;
        var runAfterTheLease = 0;
        foreach (var key in completed)
        {
            var retry = await store.Store.TryBeginAsync(key, Fingerprint, Lease, CancellationToken.None);
            switch (retry.Status)
            {
                case IdempotencyBeginStatus.Acquired:
                    runAtOnce++;
                    break;
                case IdempotencyBeginStatus.InFlight:
                    runAfterTheLease++;
                    break;
                default:
                    Assert.Equal(IdempotencyBeginStatus.Completed, retry.Status);
                    break;
            }
        }

        output.WriteLine($"Lost completions: {runAtOnce} without a record (the retry runs at once), {runAfterTheLease} still in flight (the retry runs when the lease expires).");
        return runAtOnce + runAfterTheLease;
    }

    private async Task<(double[] Begins, double[] Completions)> MeasureCompletionsAsync(RedisReplicationPair pair, string prefix, int replicas, int completions)
    {
        await using var store = CreateStore(pair.PrimaryConnectionString, prefix, replicas, TimeSpan.FromSeconds(1));
        var begins = new double[completions];
        var durations = new double[completions];

        // Warm-up: the connection, the eviction check and the scripts' first load are not part of a completion's cost.
        var warm = await store.Store.TryBeginAsync("warm-up", Fingerprint, Lease, CancellationToken.None);
        await store.Store.CompleteAsync("warm-up", warm.FencingToken, Response, Retention, CancellationToken.None);
        await Resp.ExecuteAsync(pair.Primary.Port, "DEL", $"{prefix}{{warm-up}}");

        for (var i = 0; i < completions; i++)
        {
            var key = $"key-{i}";
            var started = Stopwatch.GetTimestamp();
            var begun = await store.Store.TryBeginAsync(key, Fingerprint, Lease, CancellationToken.None);
            begins[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            started = Stopwatch.GetTimestamp();
            Assert.True(await store.Store.CompleteAsync(key, begun.FencingToken, Response, Retention, CancellationToken.None));
            durations[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        Array.Sort(begins);
        Array.Sort(durations);
        return (begins, durations);
    }

    private static readonly TimeSpan ThroughputWindow = TimeSpan.FromSeconds(1);

    private async Task<int> CountCompletionsAsync(RedisReplicationPair pair, string prefix, int replicas)
    {
        await using var store = CreateStore(pair.PrimaryConnectionString, prefix, replicas, TimeSpan.FromSeconds(1));
        var warm = await store.Store.TryBeginAsync("warm-up", Fingerprint, Lease, CancellationToken.None);
        await store.Store.CompleteAsync("warm-up", warm.FencingToken, Response, Retention, CancellationToken.None);

        var elapsed = Stopwatch.StartNew();
        var count = 0;
        async Task RunAsync()
        {
            while (elapsed.Elapsed < ThroughputWindow)
            {
                var key = $"key-{Interlocked.Increment(ref count)}";
                var begun = await store.Store.TryBeginAsync(key, Fingerprint, Lease, CancellationToken.None);
                Assert.True(await store.Store.CompleteAsync(key, begun.FencingToken, Response, Retention, CancellationToken.None));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => RunAsync()));
        return count;
    }

    private static double Percentile(double[] sorted, double percentile) => sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(percentile * sorted.Length))];

    private StoreOnItsOwnConnection CreateStore(string configuration, string prefix, int replicas, TimeSpan timeout, ILogger<RedisIdempotencyStore>? logger = null)
    {
        var options = Options.Create(new RedisIdempotencyStoreOptions
        {
            Configuration = configuration,
            KeyPrefix = prefix,
            ReplicasToAcknowledge = replicas,
            ReplicaAcknowledgeTimeout = timeout,
        });
        var connections = new RedisConnectionProvider(options);
        return new StoreOnItsOwnConnection(connections, new RedisIdempotencyStore(connections, options, logger, _metrics.GetRequiredService<IMeterFactory>()));
    }

    /// <summary>A store and the connection it created, disposed together so no multiplexer keeps reconnecting to a dead primary.</summary>
    private sealed class StoreOnItsOwnConnection(RedisConnectionProvider connections, RedisIdempotencyStore store) : IAsyncDisposable
    {
        public RedisIdempotencyStore Store { get; } = store;

        public ValueTask DisposeAsync() => connections.DisposeAsync();
    }
}
