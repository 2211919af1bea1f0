using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Idempotency.Hosting;
using Idempotency.LocalReplay;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.LocalReplay;

/// <summary>
/// The local replay cache through the real middleware, on a store that counts its calls: what it saves (store round
/// trips) and what it must never change (who gets which answer, for how long).
/// </summary>
public sealed class LocalReplayCacheTests
{
    private const int Retries = 20;

    private static string NewKey() => Guid.NewGuid().ToString("N");

    private static Task<TestApp> StartAsync(Action<IdempotencyOptions>? configure = null, FakeTimeProvider? time = null)
        => TestApp.StartAsync(
            options =>
            {
                options.DefaultPolicy.UseLocalReplayCache = true;
                configure?.Invoke(options);
            },
            time: time);

    [Fact]
    public async Task A_hot_key_costs_one_store_lookup_then_none_and_every_replay_is_byte_identical()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        using var first = await app.Client.SendAsync(TestApp.Post("/items", key));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var fromStore = await app.Client.SendAsync(TestApp.Post("/items", key));
        var expected = await DescribeAsync(fromStore);
        Assert.Equal(2, app.Store.Begins);
        Assert.Contains("Idempotent-Replayed: true", expected, StringComparison.Ordinal);

        for (var i = 0; i < Retries; i++)
        {
            using var replay = await app.Client.SendAsync(TestApp.Post("/items", key));
            Assert.Equal(expected, await DescribeAsync(replay));
        }

        Assert.Equal(2, app.Store.Begins);
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task Without_a_policy_that_opts_in_every_replay_asks_the_store_and_no_instrument_exists()
    {
        await using var app = await TestApp.StartAsync();
        using var lookups = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.local_replay.lookups");
        var key = NewKey();
        using var first = await app.Client.SendAsync(TestApp.Post("/items", key));

        for (var i = 0; i < Retries; i++)
        {
            using var replay = await app.Client.SendAsync(TestApp.Post("/items", key));
            Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        }

        Assert.Equal(1 + Retries, app.Store.Begins);
        Assert.False(app.Services.GetRequiredService<LocalReplayCache>().IsEnabled);
        Assert.Empty(lookups.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task Only_the_policies_that_opt_in_use_the_cache()
    {
        await using var app = await TestApp.StartAsync(options => options.Policies["canonical"].UseLocalReplayCache = true);
        var items = NewKey();
        var canonical = NewKey();
        for (var i = 0; i < 5; i++)
        {
            using var item = await app.Client.SendAsync(TestApp.Post("/items", items));
            using var other = await app.Client.SendAsync(TestApp.Post("/canonical", canonical));
        }

        // /items (default policy): 5 store calls. /canonical: the first execution, one replay from the store, then none.
        Assert.Equal(5 + 2, app.Store.Begins);
    }

    [Fact]
    public async Task A_retry_with_another_body_gets_422_from_the_cached_record()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        using var first = await app.Client.SendAsync(TestApp.Post("/items", key));
        using var fromStore = await app.Client.SendAsync(TestApp.Post("/items", key));
        using var cached = await app.Client.SendAsync(TestApp.Post("/items", key));
        Assert.True(cached.Headers.Contains("Idempotent-Replayed"));
        var begins = app.Store.Begins;

        using var reused = await app.Client.SendAsync(TestApp.Post("/items", key, "{\"amount\":999}"));

        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(begins, app.Store.Begins);
        Assert.Equal(1, app.Handlers.Executions("items"));

        // The original request still replays: a mismatch evicts nothing.
        using var again = await app.Client.SendAsync(TestApp.Post("/items", key));
        Assert.Equal(await DescribeAsync(fromStore), await DescribeAsync(again));
        Assert.Equal(begins, app.Store.Begins);
    }

    [Fact]
    public async Task Another_scope_with_the_same_key_never_gets_a_cached_entry_of_another()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        using var alice = await app.Client.SendAsync(TestApp.Post("/items", key, user: "alice"));
        using var aliceFromStore = await app.Client.SendAsync(TestApp.Post("/items", key, user: "alice"));
        using var aliceCached = await app.Client.SendAsync(TestApp.Post("/items", key, user: "alice"));
        Assert.Equal(2, app.Store.Begins);

        using var bob = await app.Client.SendAsync(TestApp.Post("/items", key, user: "bob"));

        Assert.Equal(HttpStatusCode.Created, bob.StatusCode);
        Assert.False(bob.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("2", bob.Headers.GetValues("X-Execution").Single());
        Assert.Equal(2, app.Handlers.Executions("items"));
        Assert.Equal(3, app.Store.Begins);

        // Anonymous is a scope of its own too.
        using var anonymous = await app.Client.SendAsync(TestApp.Post("/items", key));
        Assert.False(anonymous.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(3, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task An_entry_never_outlives_its_policys_retention()
    {
        var time = new FakeTimeProvider();
        await using var app = await StartAsync(
            options =>
            {
                options.DefaultPolicy.Lease = TimeSpan.FromSeconds(1);
                options.DefaultPolicy.Retention = TimeSpan.FromSeconds(3);
            },
            time);
        var key = NewKey();
        using var first = await app.Client.SendAsync(TestApp.Post("/items", key));
        using var fromStore = await app.Client.SendAsync(TestApp.Post("/items", key));
        using var cached = await app.Client.SendAsync(TestApp.Post("/items", key));
        Assert.True(cached.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Store.Begins);

        time.Advance(TimeSpan.FromSeconds(3));
        using var afterRetention = await app.Client.SendAsync(TestApp.Post("/items", key));

        // The store forgot the record when its retention ended; so did the cache (its own expiration is 10 s).
        Assert.False(afterRetention.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task An_entry_answers_for_its_expiration_then_the_store_is_asked_again()
    {
        var time = new FakeTimeProvider();
        await using var app = await StartAsync(options => options.LocalReplayCache.Expiration = TimeSpan.FromSeconds(5), time);
        var key = NewKey();
        using var first = await app.Client.SendAsync(TestApp.Post("/items", key));
        using var fromStore = await app.Client.SendAsync(TestApp.Post("/items", key));

        time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        using var cached = await app.Client.SendAsync(TestApp.Post("/items", key));
        Assert.Equal(2, app.Store.Begins);

        time.Advance(TimeSpan.FromMilliseconds(1));
        using var askedAgain = await app.Client.SendAsync(TestApp.Post("/items", key));
        using var cachedAgain = await app.Client.SendAsync(TestApp.Post("/items", key));

        Assert.Equal(3, app.Store.Begins);
        Assert.Equal(await DescribeAsync(fromStore), await DescribeAsync(askedAgain));
        Assert.Equal(await DescribeAsync(fromStore), await DescribeAsync(cachedAgain));
    }

    [Fact]
    public async Task A_record_in_flight_is_never_cached()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        var original = app.Client.SendAsync(TestApp.Post("/gate", key));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        for (var i = 0; i < 3; i++)
        {
            using var duplicate = await app.Client.SendAsync(TestApp.Post("/gate", key));
            await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, "idempotency-request-in-flight");
        }

        Assert.Equal(4, app.Store.Begins);
        app.Handlers.Gate.SetResult();
        using var completed = await original;
        using var replay = await app.Client.SendAsync(TestApp.Post("/gate", key));
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await completed.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_released_record_runs_again()
    {
        await using var app = await StartAsync();
        var key = NewKey();

        using var first = await app.Client.SendAsync(TestApp.Post("/status/503", key));
        using var retry = await app.Client.SendAsync(TestApp.Post("/status/503", key));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.Handlers.Executions("status"));
    }

    [Fact]
    public async Task A_numbered_request_always_asks_the_store()
    {
        await using var app = await TestApp.StartAsync(options => options.Policies["sequence-optional"].UseLocalReplayCache = true);
        using var first = await app.Client.SendAsync(TestApp.Sequenced("/seq-optional", 1));

        for (var i = 0; i < 5; i++)
        {
            using var replay = await app.Client.SendAsync(TestApp.Sequenced("/seq-optional", 1));
            Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        }

        Assert.Equal(6, app.Store.Begins);

        // The same policy's key-mode requests use the cache.
        var key = NewKey();
        for (var i = 0; i < 5; i++)
        {
            using var keyed = await app.Client.SendAsync(TestApp.Post("/seq-optional", key));
        }

        Assert.Equal(6 + 2, app.Store.Begins);
    }

    [Fact]
    public async Task A_response_larger_than_the_entry_limit_is_always_answered_by_the_store()
    {
        await using var app = await TestApp.StartAsync(options =>
        {
            options.Policies["small"].UseLocalReplayCache = true;
            options.LocalReplayCache.MaximumEntryBytes = 1024;
        });
        var small = NewKey();
        var large = NewKey();
        for (var i = 0; i < 5; i++)
        {
            using var smallResponse = await app.Client.SendAsync(TestApp.Post("/large/100", small));
        }

        Assert.Equal(2, app.Store.Begins);
        for (var i = 0; i < 5; i++)
        {
            using var largeResponse = await app.Client.SendAsync(TestApp.Post("/large/1000", large));
            Assert.Equal(1000, (await largeResponse.Content.ReadAsByteArrayAsync()).Length);
        }

        Assert.Equal(2 + 5, app.Store.Begins);
    }

    [Fact]
    public async Task When_full_the_oldest_entry_leaves_first()
    {
        await using var app = await StartAsync(options => options.LocalReplayCache.MaximumEntries = 2);
        var keys = new[] { NewKey(), NewKey(), NewKey() };
        foreach (var key in keys)
        {
            using var first = await app.Client.SendAsync(TestApp.Post("/items", key));
            using var fromStore = await app.Client.SendAsync(TestApp.Post("/items", key));
        }

        Assert.Equal(6, app.Store.Begins);
        using (await app.Client.SendAsync(TestApp.Post("/items", keys[2])))
        using (await app.Client.SendAsync(TestApp.Post("/items", keys[1])))
        {
            Assert.Equal(6, app.Store.Begins);
        }

        using var evicted = await app.Client.SendAsync(TestApp.Post("/items", keys[0]));
        Assert.True(evicted.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(7, app.Store.Begins);
    }

    [Fact]
    public async Task Lookups_are_counted_as_hits_and_misses_per_policy()
    {
        await using var app = await StartAsync();
        using var lookups = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.local_replay.lookups");
        using var entries = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.local_replay.entries");
        var key = NewKey();
        for (var i = 0; i < 5; i++)
        {
            using var response = await app.Client.SendAsync(TestApp.Post("/items", key));
        }

        var measurements = lookups.GetMeasurementSnapshot();
        Assert.All(measurements, m => Assert.Equal(IdempotencyOptions.DefaultPolicyName, m.Tags["idempotency.policy"]));
        Assert.Equal(2, measurements.Count(m => (string?)m.Tags["idempotency.local_replay.result"] == "miss"));
        Assert.Equal(3, measurements.Count(m => (string?)m.Tags["idempotency.local_replay.result"] == "hit"));
        entries.RecordObservableInstruments();
        Assert.Equal(1, entries.LastMeasurement?.Value);
    }

    public static TheoryData<string, Action<IdempotencyOptions>> InvalidSettings => new()
    {
        { "LocalReplayCache.SizeLimit must be at least 1024", o => { o.LocalReplayCache.SizeLimit = 1000; o.LocalReplayCache.MaximumEntryBytes = 100; } },
        { "LocalReplayCache.MaximumEntries must be between 1 and 10000000", o => o.LocalReplayCache.MaximumEntries = 0 },
        { "LocalReplayCache.MaximumEntries must be between 1 and 10000000", o => o.LocalReplayCache.MaximumEntries = 10_000_001 },
        { "LocalReplayCache.MaximumEntryBytes must be at least 1 and at most LocalReplayCache.SizeLimit", o => o.LocalReplayCache.MaximumEntryBytes = 0 },
        { "LocalReplayCache.MaximumEntryBytes must be at least 1 and at most LocalReplayCache.SizeLimit", o => o.LocalReplayCache.SizeLimit = o.LocalReplayCache.MaximumEntryBytes - 1 },
        { "LocalReplayCache.Expiration must be positive and at most 1 day", o => o.LocalReplayCache.Expiration = TimeSpan.Zero },
        { "LocalReplayCache.Expiration must be positive and at most 1 day", o => o.LocalReplayCache.Expiration = TimeSpan.FromDays(2) },
        { "Policy 'p': UseLocalReplayCache cannot be used with SequenceRequirement = Required", o => o.AddPolicy("p", p => { p.SequenceRequirement = SequenceRequirement.Required; p.UseLocalReplayCache = true; }) },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void Each_invalid_cache_setting_is_reported_alone_and_by_name(string message, Action<IdempotencyOptions> configure)
    {
        var options = new IdempotencyOptions();
        configure(options);

        var result = new IdempotencyOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.StartsWith(message, Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    // Everything a client can observe of a response, in order: status, headers (content headers included), body.
    internal static async Task<string> DescribeAsync(HttpResponseMessage response)
    {
        var text = new StringBuilder();
        text.Append((int)response.StatusCode).Append('\n');
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            text.Append(name).Append(": ").AppendJoin(", ", values).Append('\n');
        }

        text.Append('\n').Append(Convert.ToBase64String(await response.Content.ReadAsByteArrayAsync()));
        return text.ToString();
    }
}
