using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Idempotency.Redis.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// Two instances of an application share one Redis: duplicates of a request race across both and the operation still
/// runs once. This is what the Redis store is for; the in-memory store cannot do it.
/// </summary>
public sealed class MultiInstanceConcurrencyTests(RedisServerFixture server, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    private const int Keys = 100;
    private const int DuplicatesPerKey = 64;

    [Fact]
    public async Task Duplicates_racing_across_two_instances_run_the_handler_once_per_key_and_otherwise_replay_or_get_409()
    {
        var prefix = TestStores.UniquePrefix("two-instances");
        var endpoints = new RedisTestApp.TestEndpoints();

        // This test is about deduplication, not timeouts. On a starved machine (the burst shares two cores with the
        // test host and whatever else runs) a reply can wait past 5 s in this process's own thread pool; with the
        // default StoreTimeout, or StackExchange.Redis's own asyncTimeout, the middleware would rightly answer 503, and
        // a begin Redis had already applied would hold its key for a lease (docs/contract-notes.md, "Store timeouts").
        Action<IdempotencyOptions> patient = options => options.StoreTimeout = TimeSpan.FromSeconds(60);
        var configuration = $"{server.ConnectionString},asyncTimeout=60000";
        await using var a = await RedisTestApp.StartAsync(configuration, prefix, endpoints, "A", patient);
        await using var b = await RedisTestApp.StartAsync(configuration, prefix, endpoints, "B", patient);
        RedisTestApp[] instances = [a, b];
        await WarmUpAsync(instances);
        var executionsBefore = endpoints.Executions("items");

        var keys = Enumerable.Range(0, Keys).Select(_ => RedisTestApp.NewKey()).ToArray();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var requests = new List<Task<Outcome>>(Keys * DuplicatesPerKey);
        for (var k = 0; k < Keys; k++)
        {
            for (var d = 0; d < DuplicatesPerKey; d++)
            {
                // Alternating instances: every key's duplicates are split evenly between A and B.
                requests.Add(SendWhenStartedAsync(instances[d % 2], keys[k], k, start.Task));
            }
        }

        var stopwatch = Stopwatch.StartNew();
        start.SetResult();
        var outcomes = await Task.WhenAll(requests);
        stopwatch.Stop();

        var replays = 0;
        var inFlight = 0;
        var crossInstanceReplays = 0;
        foreach (var perKey in outcomes.GroupBy(outcome => outcome.Key))
        {
            var executions = endpoints.Executions($"items:{perKey.Key}");
            Assert.True(
                executions == 1,
                $"{perKey.Key} ran {executions} times; its responses: " +
                string.Join(", ", perKey.GroupBy(outcome => (int)outcome.Status).Select(group => $"{group.Count()} × {group.Key}")));
            var original = Assert.Single(perKey, outcome => outcome.Status == HttpStatusCode.Created && !outcome.Replayed);
            var executedOn = ExecutingInstance(original.Body);
            foreach (var outcome in perKey.Where(outcome => !ReferenceEquals(outcome, original)))
            {
                if (outcome.Status == HttpStatusCode.Created)
                {
                    Assert.True(outcome.Replayed, $"A second 201 for {perKey.Key} was not a replay.");
                    Assert.Equal(original.Body, outcome.Body);
                    replays++;
                    crossInstanceReplays += outcome.Instance != executedOn ? 1 : 0;
                }
                else
                {
                    Assert.True(outcome.Status == HttpStatusCode.Conflict, $"{perKey.Key} got {(int)outcome.Status}: {System.Text.Encoding.UTF8.GetString(outcome.Body)}");
                    Assert.Equal("urn:idempotency:idempotency-request-in-flight", outcome.ProblemType);
                    Assert.True(outcome.HasRetryAfter, "A 409 in flight must say when to retry.");
                    inFlight++;
                }
            }
        }

        Assert.Equal(executionsBefore + Keys, endpoints.Executions("items"));
        Assert.Equal(Keys * (DuplicatesPerKey - 1), replays + inFlight);
        output.WriteLine(
            $"{Keys * DuplicatesPerKey} requests in {stopwatch.Elapsed.TotalMilliseconds:F0} ms: {Keys} executions, {replays} replays " +
            $"({crossInstanceReplays} served by the other instance), {inFlight} × 409 in flight");

        // Whatever the race did, every record is now complete in Redis: the instance that did not run a key replays it.
        foreach (var perKey in outcomes.GroupBy(outcome => outcome.Key))
        {
            var original = perKey.Single(outcome => outcome.Status == HttpStatusCode.Created && !outcome.Replayed);
            var other = ExecutingInstance(original.Body) == "A" ? b : a;
            var replay = await SendAsync(other, perKey.Key, original.KeyIndex);
            Assert.True(replay.Replayed);
            Assert.Equal(original.Body, replay.Body);
        }

        Assert.Equal(executionsBefore + Keys, endpoints.Executions("items"));
    }

    /// <summary>Connects each instance's store and loads its scripts, so the race measures steady state, not start-up.</summary>
    private static async Task WarmUpAsync(IEnumerable<RedisTestApp> instances)
    {
        foreach (var instance in instances)
        {
            using var response = await instance.Client.SendAsync(RedisTestApp.Post("/items", RedisTestApp.NewKey()));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }

    private static async Task<Outcome> SendWhenStartedAsync(RedisTestApp instance, string key, int keyIndex, Task start)
    {
        await start;
        return await SendAsync(instance, key, keyIndex);
    }

    private static async Task<Outcome> SendAsync(RedisTestApp instance, string key, int keyIndex)
    {
        using var response = await instance.Client.SendAsync(RedisTestApp.Post("/items", key, $"{{\"amount\":{keyIndex}}}"));
        var body = await response.Content.ReadAsByteArrayAsync();
        string? problemType = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            problemType = JsonDocument.Parse(body).RootElement.GetProperty("type").GetString();
        }

        return new Outcome(
            key,
            keyIndex,
            instance.Name,
            response.StatusCode,
            response.Headers.TryGetValues("Idempotent-Replayed", out var replayed) && replayed.SequenceEqual(["true"]),
            response.Headers.RetryAfter is not null,
            problemType,
            body);
    }

    private static string ExecutingInstance(byte[] body) => JsonDocument.Parse(body).RootElement.GetProperty("host").GetString()!;

    private sealed record Outcome(string Key, int KeyIndex, string Instance, HttpStatusCode Status, bool Replayed, bool HasRetryAfter, string? ProblemType, byte[] Body);
}
