using System.Globalization;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;

namespace Idempotency.Redis.Tests.Storage;

/// <summary>What the Redis store keeps for a stream, how long, and how it decides at the edges of the number range.</summary>
[Collection(RealTimeCollection.Name)]
public sealed class RedisSequenceStoreTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);
    private static readonly string[] SlotFields = ["sd", "se", "sf", "sn", "st"];

    private readonly string _keyPrefix = TestStores.UniquePrefix("sequence");

    private async Task<IIdempotencySequenceStore> CreateStoreAsync() => TestStores.Create(await server.GetConnectionAsync(), _keyPrefix);

    private string StreamRedisKey(string streamKey) => $"{_keyPrefix}{{{streamKey}}}:s";

    private static byte[] Fingerprint(long number) => BitConverter.GetBytes(number);

    private static StoredResponse Response(long number) => new(201, [new("Location", $"/transfers/{number}")], Body(number));

    private static byte[] Body(long number) => System.Text.Encoding.ASCII.GetBytes(number.ToString(CultureInfo.InvariantCulture));

    private static string Text(long number) => number.ToString(CultureInfo.InvariantCulture);

    private async Task<string[]> FieldsAsync(string streamKey)
        => ((object?[])(await server.ExecuteAsync("HKEYS", StreamRedisKey(streamKey)))!).Cast<string>().Order(StringComparer.Ordinal).ToArray();

    private async Task<string?> FieldAsync(string streamKey, string field) => (string?)await server.ExecuteAsync("HGET", StreamRedisKey(streamKey), field);

    private async Task<long> PttlAsync(string streamKey) => (long)(await server.ExecuteAsync("PTTL", StreamRedisKey(streamKey)))!;

    /// <summary>The window fields a stream holds, as numbers, after checking that every fingerprint has its response.</summary>
    private async Task<string[]> WindowAsync(string streamKey)
    {
        var fields = await FieldsAsync(streamKey);
        var fingerprints = fields.Where(f => f.StartsWith("f:", StringComparison.Ordinal)).Select(f => f[2..]).ToArray();
        var responses = fields.Where(f => f.StartsWith("r:", StringComparison.Ordinal)).Select(f => f[2..]).ToArray();
        Assert.Equal(fingerprints.Order(StringComparer.Ordinal), responses.Order(StringComparer.Ordinal));
        return fingerprints.OrderBy(n => n.Length).ThenBy(n => n, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Writes a stream's applied state directly, to start from numbers no test could reach by counting.</summary>
    private Task SeedAsync(string streamKey, long epoch, long last, int window)
        => server.ExecuteAsync("HSET", StreamRedisKey(streamKey), "e", Text(epoch), "l", Text(last), "w", window.ToString(CultureInfo.InvariantCulture));

    private static async Task ApplyAsync(IIdempotencySequenceStore store, string streamKey, long epoch, long number, int window = 16)
    {
        var begun = await store.TryBeginSequenceAsync(streamKey, epoch, number, Fingerprint(number), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, begun.Status);
        Assert.True(await store.CompleteSequenceAsync(streamKey, begun.FencingToken, Response(number), window, Retention, CancellationToken.None));
    }

    [Fact]
    public async Task A_stream_with_only_a_slot_is_one_hash_under_its_own_key_that_expires_with_the_lease()
    {
        var store = await CreateStoreAsync();

        var begun = await store.TryBeginSequenceAsync("slot", 3, 1, Fingerprint(1), Lease, CancellationToken.None);

        Assert.Equal(SlotFields, await FieldsAsync("slot"));
        Assert.Equal("3", await FieldAsync("slot", "se"));
        Assert.Equal("1", await FieldAsync("slot", "sn"));
        Assert.Equal(Text(begun.FencingToken), await FieldAsync("slot", "st"));
        Assert.InRange(await PttlAsync("slot"), 1, (long)Lease.TotalMilliseconds);
    }

    [Fact]
    public async Task A_stream_that_never_completes_disappears_when_its_lease_runs_out()
    {
        var store = await CreateStoreAsync();
        var shortLease = TimeSpan.FromMilliseconds(200);
        await store.TryBeginSequenceAsync("abandoned", 0, 1, Fingerprint(1), shortLease, CancellationToken.None);

        await RealTime.WaitAsync(shortLease);

        Assert.Equal(0L, await server.ExecuteAsync("EXISTS", StreamRedisKey("abandoned")));
    }

    [Fact]
    public async Task A_completed_stream_keeps_epoch_last_and_window_and_expires_with_the_retention()
    {
        var store = await CreateStoreAsync();

        await ApplyAsync(store, "completed", 0, 1);

        Assert.Equal(["e", "f:1", "l", "r:1", "rd", "w"], await FieldsAsync("completed"));
        Assert.Equal("1", await FieldAsync("completed", "l"));
        Assert.Equal("16", await FieldAsync("completed", "w"));
        Assert.InRange(await PttlAsync("completed"), (long)Lease.TotalMilliseconds + 1, (long)Retention.TotalMilliseconds);
    }

    [Fact]
    public async Task Taking_the_slot_never_shortens_the_retention_but_outlasts_a_retention_about_to_end()
    {
        var store = await CreateStoreAsync();
        await ApplyAsync(store, "long", 0, 1);
        // Shorter than the lease, long enough not to run out on a loaded machine before the begin below.
        var shortRetention = TimeSpan.FromSeconds(10);
        var begunShort = await store.TryBeginSequenceAsync("short", 0, 1, Fingerprint(1), Lease, CancellationToken.None);
        await store.CompleteSequenceAsync("short", begunShort.FencingToken, Response(1), 16, shortRetention, CancellationToken.None);

        await store.TryBeginSequenceAsync("long", 0, 2, Fingerprint(2), Lease, CancellationToken.None);
        await store.TryBeginSequenceAsync("short", 0, 2, Fingerprint(2), Lease, CancellationToken.None);

        Assert.InRange(await PttlAsync("long"), (long)(Retention - TimeSpan.FromMinutes(1)).TotalMilliseconds, (long)Retention.TotalMilliseconds);
        Assert.InRange(await PttlAsync("short"), (long)(Lease - TimeSpan.FromSeconds(5)).TotalMilliseconds, (long)Lease.TotalMilliseconds);
    }

    [Fact]
    public async Task Renew_moves_the_deadline_and_keeps_a_slot_only_stream_alive()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginSequenceAsync("renew", 0, 1, Fingerprint(1), Lease, CancellationToken.None);
        var deadline = long.Parse((await FieldAsync("renew", "sd"))!, CultureInfo.InvariantCulture);

        Assert.True(await store.RenewSequenceLeaseAsync("renew", begun.FencingToken, TimeSpan.FromMinutes(10), CancellationToken.None));

        var renewed = long.Parse((await FieldAsync("renew", "sd"))!, CultureInfo.InvariantCulture);
        Assert.InRange(renewed - deadline, (long)(TimeSpan.FromMinutes(10) - Lease).TotalMilliseconds, (long)TimeSpan.FromMinutes(10).TotalMilliseconds);
        Assert.InRange(await PttlAsync("renew"), (long)TimeSpan.FromMinutes(9).TotalMilliseconds, (long)TimeSpan.FromMinutes(10).TotalMilliseconds);
    }

    [Fact]
    public async Task Release_deletes_a_slot_only_stream_and_keeps_the_applied_state_of_another()
    {
        var store = await CreateStoreAsync();
        var slotOnly = await store.TryBeginSequenceAsync("slot-only", 0, 1, Fingerprint(1), Lease, CancellationToken.None);
        await ApplyAsync(store, "applied", 0, 1);
        var applied = await store.TryBeginSequenceAsync("applied", 0, 2, Fingerprint(2), Lease, CancellationToken.None);

        Assert.True(await store.ReleaseSequenceAsync("slot-only", slotOnly.FencingToken, CancellationToken.None));
        Assert.True(await store.ReleaseSequenceAsync("applied", applied.FencingToken, CancellationToken.None));

        Assert.Equal(0L, await server.ExecuteAsync("EXISTS", StreamRedisKey("slot-only")));
        Assert.Equal(["e", "f:1", "l", "r:1", "rd", "w"], await FieldsAsync("applied"));
        Assert.InRange(await PttlAsync("applied"), (long)Lease.TotalMilliseconds + 1, (long)Retention.TotalMilliseconds);
    }

    [Fact]
    public async Task The_window_keeps_exactly_its_size_and_follows_a_window_that_shrinks_or_grows()
    {
        var store = await CreateStoreAsync();
        for (var number = 1; number <= 10; number++)
        {
            await ApplyAsync(store, "window", 0, number, window: 4);
            Assert.Equal(Enumerable.Range(Math.Max(1, number - 3), Math.Min(number, 4)).Select(n => Text(n)), await WindowAsync("window"));
        }

        await ApplyAsync(store, "window", 0, 11, window: 2);
        Assert.Equal(["10", "11"], await WindowAsync("window"));

        await ApplyAsync(store, "window", 0, 12, window: 5);
        await ApplyAsync(store, "window", 0, 13, window: 5);
        Assert.Equal(["10", "11", "12", "13"], await WindowAsync("window"));

        var replay = await store.TryBeginSequenceAsync("window", 0, 10, Fingerprint(10), Lease, CancellationToken.None);
        var tooOld = await store.TryBeginSequenceAsync("window", 0, 9, Fingerprint(9), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Completed, replay.Status);
        Assert.Equal(Body(10), replay.Response!.Body.ToArray());
        Assert.Equal(SequenceBeginStatus.AlreadyApplied, tooOld.Status);
        Assert.Equal(13, tooOld.LastSequence);
    }

    [Fact]
    public async Task A_window_that_shrinks_by_more_than_one_batch_of_fields_is_trimmed_in_one_call()
    {
        var store = await CreateStoreAsync();
        // 600 numbers leave at once: 1200 fields, more than the script passes to one HDEL.
        for (var number = 1; number <= 600; number++)
        {
            await ApplyAsync(store, "shrink", 0, number, window: 1000);
        }

        await ApplyAsync(store, "shrink", 0, 601, window: 1);

        Assert.Equal(["601"], await WindowAsync("shrink"));
    }

    [Fact]
    public async Task A_window_of_zero_is_refused_before_the_stream_is_touched()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginSequenceAsync("no-window", 0, 1, Fingerprint(1), Lease, CancellationToken.None);
        var fieldsBefore = await FieldsAsync("no-window");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            async () => await store.CompleteSequenceAsync("no-window", begun.FencingToken, Response(1), 0, Retention, CancellationToken.None));

        Assert.Equal(fieldsBefore, await FieldsAsync("no-window"));
    }

    [Fact]
    public async Task The_first_complete_of_a_newer_epoch_raises_the_epoch_and_clears_the_window()
    {
        var store = await CreateStoreAsync();
        for (var number = 1; number <= 3; number++)
        {
            await ApplyAsync(store, "epochs", 1, number);
        }

        var begun = await store.TryBeginSequenceAsync("epochs", 2, 1, Fingerprint(100), Lease, CancellationToken.None);
        Assert.Equal("1", await FieldAsync("epochs", "e"));
        Assert.Equal(["1", "2", "3"], await WindowAsync("epochs"));
        Assert.True(await store.CompleteSequenceAsync("epochs", begun.FencingToken, Response(100), 16, Retention, CancellationToken.None));

        Assert.Equal("2", await FieldAsync("epochs", "e"));
        Assert.Equal("1", await FieldAsync("epochs", "l"));
        Assert.Equal(["1"], await WindowAsync("epochs"));
        Assert.Equal(SequenceBeginStatus.EpochFenced, (await store.TryBeginSequenceAsync("epochs", 1, 4, Fingerprint(4), Lease, CancellationToken.None)).Status);
        var replay = await store.TryBeginSequenceAsync("epochs", 2, 1, Fingerprint(100), Lease, CancellationToken.None);
        Assert.Equal(Body(100), replay.Response!.Body.ToArray());
    }

    [Fact]
    public async Task Numbers_near_the_largest_long_are_decided_and_trimmed_exactly()
    {
        var store = await CreateStoreAsync();
        const long Max = long.MaxValue;
        await SeedAsync("max", 7, Max - 5, 3);

        Assert.Equal(SequenceBeginStatus.Gap, (await store.TryBeginSequenceAsync("max", 7, Max, Fingerprint(1), Lease, CancellationToken.None)).Status);
        var gap = await store.TryBeginSequenceAsync("max", 7, Max - 3, Fingerprint(1), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(Max - 5, gap.LastSequence);
        var applied = await store.TryBeginSequenceAsync("max", 7, Max - 5, Fingerprint(1), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.AlreadyApplied, applied.Status);
        Assert.Equal(Max - 5, applied.LastSequence);

        for (var number = Max - 4; number > 0 && number <= Max; number++)
        {
            await ApplyAsync(store, "max", 7, number, window: 3);
            if (number == Max)
            {
                break;
            }
        }

        Assert.Equal(Text(Max), await FieldAsync("max", "l"));
        Assert.Equal([Text(Max - 2), Text(Max - 1), Text(Max)], await WindowAsync("max"));
        Assert.Equal(SequenceBeginStatus.Completed, (await store.TryBeginSequenceAsync("max", 7, Max, Fingerprint(Max), Lease, CancellationToken.None)).Status);
        Assert.Equal(SequenceBeginStatus.FingerprintMismatch, (await store.TryBeginSequenceAsync("max", 7, Max - 2, Fingerprint(Max), Lease, CancellationToken.None)).Status);
        var gone = await store.TryBeginSequenceAsync("max", 7, Max - 3, Fingerprint(Max - 3), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.AlreadyApplied, gone.Status);
        Assert.Equal(Max, gone.LastSequence);
    }

    [Fact]
    public async Task Numbers_that_differ_only_beyond_double_precision_are_told_apart()
    {
        var store = await CreateStoreAsync();

        // 2^53 + 1, the next number, is the first integer a double cannot hold: as a Lua number it would round down to
        // 2^53 and pass for "already applied".
        const long Last = 1L << 53;
        await SeedAsync("precision", 0, Last, 16);

        var next = await store.TryBeginSequenceAsync("precision", 0, Last + 1, Fingerprint(1), Lease, CancellationToken.None);
        var gap = await store.TryBeginSequenceAsync("precision", 0, Last + 2, Fingerprint(1), Lease, CancellationToken.None);
        var below = await store.TryBeginSequenceAsync("precision", 0, Last - 1, Fingerprint(1), Lease, CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Acquired, next.Status);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(Last, gap.LastSequence);
        Assert.Equal(SequenceBeginStatus.AlreadyApplied, below.Status);
    }

    [Fact]
    public async Task Epochs_near_the_largest_long_and_beyond_double_precision_fence_exactly()
    {
        var store = await CreateStoreAsync();
        const long Epoch = (1L << 53) + 1;
        await SeedAsync("epoch", Epoch, 5, 16);

        // As doubles, 2^53 and 2^53 + 1 are equal: the older incarnation would pass as the current one.
        var fenced = await store.TryBeginSequenceAsync("epoch", Epoch - 1, 6, Fingerprint(6), Lease, CancellationToken.None);
        var current = await store.TryBeginSequenceAsync("epoch", Epoch, 7, Fingerprint(7), Lease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.EpochFenced, fenced.Status);
        Assert.Equal(Epoch, fenced.CurrentEpoch);
        Assert.Equal(SequenceBeginStatus.Gap, current.Status);
        Assert.Equal(5, current.LastSequence);

        await ApplyAsync(store, "epoch", long.MaxValue, 1);
        var older = await store.TryBeginSequenceAsync("epoch", long.MaxValue - 1, 1, Fingerprint(1), Lease, CancellationToken.None);
        Assert.Equal(Text(long.MaxValue), await FieldAsync("epoch", "e"));
        Assert.Equal(SequenceBeginStatus.EpochFenced, older.Status);
        Assert.Equal(long.MaxValue, older.CurrentEpoch);
        Assert.Equal(SequenceBeginStatus.Completed, (await store.TryBeginSequenceAsync("epoch", long.MaxValue, 1, Fingerprint(1), Lease, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_stream_and_a_record_with_the_same_key_string_are_separate()
    {
        var store = await CreateStoreAsync();

        var record = await store.TryBeginAsync("shared", Fingerprint(1), Lease, CancellationToken.None);
        var stream = await store.TryBeginSequenceAsync("shared", 0, 1, Fingerprint(2), Lease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, record.Status);
        Assert.Equal(SequenceBeginStatus.Acquired, stream.Status);
        Assert.True(await store.CompleteAsync("shared", record.FencingToken, Response(1), Retention, CancellationToken.None));
        Assert.True(await store.CompleteSequenceAsync("shared", stream.FencingToken, Response(2), 16, Retention, CancellationToken.None));

        Assert.Equal(Body(1), (await store.TryBeginAsync("shared", Fingerprint(1), Lease, CancellationToken.None)).Response!.Body.ToArray());
        Assert.Equal(Body(2), (await store.TryBeginSequenceAsync("shared", 0, 1, Fingerprint(2), Lease, CancellationToken.None)).Response!.Body.ToArray());
        Assert.Equal(1L, await server.ExecuteAsync("EXISTS", $"{_keyPrefix}{{shared}}"));
        Assert.Equal(1L, await server.ExecuteAsync("EXISTS", StreamRedisKey("shared")));
    }

    [Fact]
    public async Task Tokens_differ_across_an_expired_slot_so_the_late_owner_is_fenced_off()
    {
        var store = await CreateStoreAsync();
        await ApplyAsync(store, "fencing", 0, 1);
        // Each owner's lease must outlive the checks made right after its begin (five round trips), even on a busy
        // machine, and still run out in the wait that follows.
        var shortLease = TimeSpan.FromSeconds(2);
        var tokens = new HashSet<long>();
        SequenceBeginResult previous = default;
        for (var i = 0; i < 3; i++)
        {
            var begun = await store.TryBeginSequenceAsync("fencing", 0, 2, Fingerprint(2), shortLease, CancellationToken.None);
            Assert.Equal(SequenceBeginStatus.Acquired, begun.Status);
            Assert.True(tokens.Add(begun.FencingToken), "a slot taken again reused a fencing token");
            if (i > 0)
            {
                Assert.False(await store.RenewSequenceLeaseAsync("fencing", previous.FencingToken, Lease, CancellationToken.None));
                Assert.False(await store.CompleteSequenceAsync("fencing", previous.FencingToken, Response(2), 16, Retention, CancellationToken.None));
                Assert.False(await store.ReleaseSequenceAsync("fencing", previous.FencingToken, CancellationToken.None));
                Assert.Equal(Text(begun.FencingToken), await FieldAsync("fencing", "st"));
                Assert.Equal("1", await FieldAsync("fencing", "l"));
            }

            previous = begun;
            await RealTime.WaitAsync(shortLease);
        }

        // The last owner's lease ran out as well, though nobody took over: it is lost all the same.
        Assert.False(await store.CompleteSequenceAsync("fencing", previous.FencingToken, Response(2), 16, Retention, CancellationToken.None));
        Assert.Equal("1", await FieldAsync("fencing", "l"));
    }

    [Fact]
    public async Task Tokens_that_differ_only_beyond_double_precision_are_told_apart()
    {
        var store = await CreateStoreAsync();
        var begun = await store.TryBeginSequenceAsync("token", 0, 1, Fingerprint(1), Lease, CancellationToken.None);

        var impostor = begun.FencingToken ^ 1;

        Assert.False(await store.RenewSequenceLeaseAsync("token", impostor, Lease, CancellationToken.None));
        Assert.False(await store.ReleaseSequenceAsync("token", impostor, CancellationToken.None));
        Assert.False(await store.CompleteSequenceAsync("token", impostor, Response(1), 16, Retention, CancellationToken.None));
        Assert.True(await store.CompleteSequenceAsync("token", begun.FencingToken, Response(1), 16, Retention, CancellationToken.None));
    }

    [Fact]
    public async Task Arguments_are_validated_before_anything_is_sent()
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginSequenceAsync("invalid", -1, 1, Fingerprint(1), Lease, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginSequenceAsync("invalid", 0, 0, Fingerprint(1), Lease, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryBeginSequenceAsync("invalid", 0, 1, Fingerprint(1), TimeSpan.Zero, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => store.TryBeginSequenceAsync("", 0, 1, Fingerprint(1), Lease, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.CompleteSequenceAsync("invalid", 1, Response(1), -1, Retention, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.RenewSequenceLeaseAsync("invalid", 1, TimeSpan.FromSeconds(-1), CancellationToken.None).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.TryBeginSequenceAsync("invalid", 0, 1, Fingerprint(1), Lease, new CancellationToken(canceled: true)).AsTask());

        Assert.Equal(0L, await server.ExecuteAsync("EXISTS", StreamRedisKey("invalid")));
    }

    [Fact]
    public async Task Of_64_simultaneous_begins_of_the_next_number_exactly_one_acquires()
    {
        var store = await CreateStoreAsync();
        await ApplyAsync(store, "race", 0, 1);
        await ApplyAsync(store, "race", 0, 2);
        const int Contenders = 64;
        var results = new SequenceBeginResult[Contenders];

        // Dedicated threads released by one signal: on a small machine Task.Run could run the begins one after another
        // and let a race go unnoticed.
        using var start = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, Contenders).Select(i => new Thread(() =>
        {
            start.Wait();
            results[i] = store.TryBeginSequenceAsync("race", 0, 3, Fingerprint(3), Lease, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        start.Set();
        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.Single(results, r => r.Status == SequenceBeginStatus.Acquired);
        Assert.Equal(Contenders - 1, results.Count(r => r.Status == SequenceBeginStatus.InFlight));
        Assert.Equal(Text(results.Single(r => r.Status == SequenceBeginStatus.Acquired).FencingToken), await FieldAsync("race", "st"));
    }

    [Fact]
    public async Task Competing_clients_apply_every_number_exactly_once_and_in_order()
    {
        var store = await CreateStoreAsync();
        await store.TryBeginSequenceAsync("warm-up", 0, 1, Fingerprint(1), Lease, CancellationToken.None);
        const int Numbers = 64;
        const int Clients = 6;
        const int Window = 8;
        var applied = new List<long>();
        var failures = new List<string>();
        var calls = 0;

        void Client(int seed)
        {
            var random = new Random(seed);
            var pending = new Queue<long>(Enumerable.Range(1, Numbers).Select(n => (long)n).OrderBy(_ => random.Next()));
            while (pending.TryDequeue(out var number))
            {
                Interlocked.Increment(ref calls);
                var result = store.TryBeginSequenceAsync("exactly-once", 0, number, Fingerprint(number), Lease, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                switch (result.Status)
                {
                    case SequenceBeginStatus.Acquired when random.Next(8) == 0:
                        // A handler that failed: its number is released and must be applied later by someone.
                        store.ReleaseSequenceAsync("exactly-once", result.FencingToken, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                        pending.Enqueue(number);
                        break;
                    case SequenceBeginStatus.Acquired:
                        lock (applied)
                        {
                            // The handler's effect: in order means every earlier number was applied before it.
                            if (applied.Count != number - 1)
                            {
                                failures.Add($"{number} ran after {applied.Count} numbers");
                            }

                            applied.Add(number);
                        }

                        if (!store.CompleteSequenceAsync("exactly-once", result.FencingToken, Response(number), Window, Retention, CancellationToken.None).AsTask().GetAwaiter().GetResult())
                        {
                            lock (applied)
                            {
                                failures.Add($"{number} could not be completed by its owner");
                            }
                        }

                        break;
                    case SequenceBeginStatus.Gap or SequenceBeginStatus.InFlight:
                        pending.Enqueue(number);
                        break;
                    case SequenceBeginStatus.Completed when !result.Response!.Body.Span.SequenceEqual(Body(number)):
                        lock (applied)
                        {
                            failures.Add($"{number} replayed another number's response");
                        }

                        break;
                    case SequenceBeginStatus.Completed or SequenceBeginStatus.AlreadyApplied:
                        break;
                    default:
                        lock (applied)
                        {
                            failures.Add($"{number}: {result.Status}");
                        }

                        break;
                }
            }
        }

        using var start = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, Clients).Select(i => new Thread(() =>
        {
            start.Wait();
            Client(1000 + i);
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        start.Set();
        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.Empty(failures);
        Assert.Equal(Enumerable.Range(1, Numbers).Select(n => (long)n), applied);
        Assert.Equal(Text(Numbers), await FieldAsync("exactly-once", "l"));
        Assert.Equal(Enumerable.Range(Numbers - Window + 1, Window).Select(n => Text(n)), await WindowAsync("exactly-once"));
        Assert.True(calls >= Numbers * Clients, $"{calls} begins");
    }
}
