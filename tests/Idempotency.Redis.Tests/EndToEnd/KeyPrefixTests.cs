using System.Net;
using Idempotency.Redis.Tests.Infrastructure;

namespace Idempotency.Redis.Tests.EndToEnd;

/// <summary>
/// Two services on one Redis: by default each keeps its records under its own application name, so the same caller
/// sending the same key, path and body to both gets two executions, never the other service's response. Instances of
/// one service (the same name) share records, and an explicit prefix shares them across names.
/// </summary>
public sealed class KeyPrefixTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>
{
    [Fact]
    public async Task Two_applications_on_one_Redis_never_replay_each_others_responses()
    {
        var orders = UniqueName("orders");
        var billing = UniqueName("billing");

        var (_, second, executions, keys) = await SendToBothAsync((orders, null), (billing, null));

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.False(second.Headers.Contains("Idempotent-Replayed"));
        Assert.Contains($"\"host\":\"{billing}\"", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, executions);

        // Each record lives under its application's name.
        Assert.Equal(1L, await server.ExecuteAsync("EXISTS", $"idempotency:{orders}:{{{keys.First}}}"));
        Assert.Equal(1L, await server.ExecuteAsync("EXISTS", $"idempotency:{billing}:{{{keys.Second}}}"));
    }

    [Fact]
    public async Task Instances_with_the_same_application_name_share_records()
    {
        var name = UniqueName("orders");

        var (first, retry, executions, _) = await SendToBothAsync((name, null), (name, null));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task An_explicit_prefix_lets_differently_named_deployments_share_records()
    {
        var prefix = TestStores.UniquePrefix("shared");

        var (_, retry, executions, _) = await SendToBothAsync((UniqueName("payments-blue"), prefix), (UniqueName("payments-green"), prefix));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    /// <summary>
    /// Starts two applications on the server, each with its name and key prefix (<see langword="null"/>: the default),
    /// and sends the same caller's request with the same key to the first, then to the second.
    /// </summary>
    /// <returns>Both responses (read, so the apps may stop), how often the handler ran, and each store's record key.</returns>
    private async Task<(HttpResponseMessage First, HttpResponseMessage Second, int Executions, (string? First, string? Second) Keys)> SendToBothAsync(
        (string Name, string? KeyPrefix) first,
        (string Name, string? KeyPrefix) second)
    {
        var endpoints = new RedisTestApp.TestEndpoints();
        await using var a = await RedisTestApp.StartAsync(server.ConnectionString, first.KeyPrefix, endpoints, name: first.Name, applicationName: first.Name);
        await using var b = await RedisTestApp.StartAsync(server.ConnectionString, second.KeyPrefix, endpoints, name: second.Name, applicationName: second.Name);
        var key = RedisTestApp.NewKey();

        var firstResponse = await a.Client.SendAsync(RedisTestApp.Post("/items", key));
        var secondResponse = await b.Client.SendAsync(RedisTestApp.Post("/items", key));
        Assert.Equal(HttpStatusCode.Created, firstResponse.StatusCode);
        await firstResponse.Content.LoadIntoBufferAsync();
        await secondResponse.Content.LoadIntoBufferAsync();
        return (firstResponse, secondResponse, endpoints.Executions($"items:{key}"), (a.Store.LastBeginKey, b.Store.LastBeginKey));
    }

    // Unique per test run, so records left on the server by an earlier run never meet this one's.
    private static string UniqueName(string service) => $"{service}-{Guid.NewGuid():N}";
}
