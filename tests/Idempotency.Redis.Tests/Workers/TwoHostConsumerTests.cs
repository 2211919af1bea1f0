using System.Collections.Concurrent;
using System.Text;
using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Idempotency.Redis.Tests.Workers;

/// <summary>
/// A message consumer on two hosts that share one Redis, as a queue with at-least-once delivery feeds them: every
/// message arrives on both at once, and its work still runs once; the host that did not run it gets the stored result.
/// </summary>
public sealed class TwoHostConsumerTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>
{
    private const int Messages = 1000;

    [Fact]
    public async Task Each_of_1000_messages_delivered_to_both_hosts_concurrently_runs_once()
    {
        var prefix = TestStores.UniquePrefix("two-host-consumers");
        using var a = await StartHostAsync(prefix);
        using var b = await StartHostAsync(prefix);
        var messages = Enumerable.Range(0, Messages).Select(i => $"message-{i}-{Guid.NewGuid():N}").ToArray();
        var executions = new ConcurrentDictionary<string, int>();
        var results = new ConcurrentDictionary<string, ConcurrentBag<(string Host, IdempotentResult<ConsumerReceipt> Result)>>();

        Task ConsumeAsync(IHost host, string name) => Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (message, token) =>
        {
            var executor = host.Services.GetRequiredService<IIdempotentExecutor>();
            var result = await executor.ExecuteAsync(
                new IdempotentOperation(message, Encoding.UTF8.GetBytes($"{{\"id\":\"{message}\"}}")),
                (Message: message, Host: name, Executions: executions),
                static async (state, _) =>
                {
                    var n = state.Executions.AddOrUpdate(state.Message, 1, static (_, count) => count + 1);
                    await Task.Delay(1);
                    return new ConsumerReceipt(state.Message, state.Host, n);
                },
                ConsumerJsonContext.Default.ConsumerReceipt,
                token);
            results.GetOrAdd(message, static _ => []).Add((name, result));
        });

        // Both hosts receive every message in the same order at the same time, so most duplicates overlap.
        await Task.WhenAll(Task.Run(() => ConsumeAsync(a, "A")), Task.Run(() => ConsumeAsync(b, "B")));

        var replayedOnOtherHost = 0;
        foreach (var message in messages)
        {
            Assert.True(executions[message] == 1, $"{message} ran {executions[message]} times.");
            var deliveries = results[message];
            Assert.Equal(2, deliveries.Count);
            var original = Assert.Single(deliveries, static delivery => !delivery.Result.IsReplay);
            var replay = Assert.Single(deliveries, static delivery => delivery.Result.IsReplay);
            Assert.Equal(original.Result.Value, replay.Result.Value);
            Assert.Equal(original.Host, original.Result.Value.Host);
            replayedOnOtherHost += replay.Host != original.Host ? 1 : 0;
        }

        // Each host received each message once, so every replay was served to the host that did not run the work.
        Assert.Equal(Messages, replayedOnOtherHost);
    }

    private async Task<IHost> StartHostAsync(string prefix)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();

        // About deduplication, not timeouts: on a starved machine a reply can wait past the 5 s defaults (see
        // MultiInstanceConcurrencyTests).
        builder.Services.AddIdempotency(options => options.StoreTimeout = TimeSpan.FromSeconds(60))
            .AddRedisStore(options =>
            {
                options.Configuration = $"{server.ConnectionString},asyncTimeout=60000";
                options.KeyPrefix = prefix;
            });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
