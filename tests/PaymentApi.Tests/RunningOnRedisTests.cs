using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Idempotency.Testing.Redis;
using static PaymentApi.Tests.PaymentRequests;

namespace PaymentApi.Tests;

/// <summary>
/// The sample with <c>ConnectionStrings:Redis</c> set, on a local Redis server of this class's own (one test stops it):
/// two instances sharing the ledger and Redis act as one service (the sample's promise in its README), and <c>/health</c> covers Redis.
/// </summary>
public sealed class RunningOnRedisTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Two_instances_sharing_the_ledger_and_Redis_make_one_payment_and_the_other_instance_replays_it()
    {
        var databasePath = PaymentApiFactory.NewDatabasePath();
        await using var first = new RedisPaymentApiFactory(databasePath, redis.ConnectionString);
        await using var second = new RedisPaymentApiFactory(databasePath, redis.ConnectionString);
        using var firstClient = first.CreateClient(PaymentApiFactory.AliceKey);
        using var secondClient = second.CreateClient(PaymentApiFactory.AliceKey);
        var key = NewKey();

        using var created = await firstClient.PostPaymentAsync(key, Body(1250));
        using var retriedElsewhere = await secondClient.PostPaymentAsync(key, Body(1250));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.False(created.IsReplayed());

        // Only the shared Redis record can make this a replay: the ledger alone would return the payment unmarked.
        Assert.Equal(HttpStatusCode.Created, retriedElsewhere.StatusCode);
        Assert.True(retriedElsewhere.IsReplayed());
        Assert.Equal(created.Headers.Location, retriedElsewhere.Headers.Location);
        Assert.Equal(await created.Content.ReadAsStringAsync(), await retriedElsewhere.Content.ReadAsStringAsync());
        Assert.Equal(1, await first.CountPaymentsAsync("alice", key));
        Assert.Single(await secondClient.ListPaymentsAsync());
    }

    [Fact]
    public async Task Concurrent_duplicates_split_across_two_instances_make_one_payment()
    {
        var databasePath = PaymentApiFactory.NewDatabasePath();
        await using var first = new RedisPaymentApiFactory(databasePath, redis.ConnectionString);
        await using var second = new RedisPaymentApiFactory(databasePath, redis.ConnectionString);
        using var firstClient = first.CreateClient(PaymentApiFactory.AliceKey);
        using var secondClient = second.CreateClient(PaymentApiFactory.AliceKey);
        HttpClient[] clients = [firstClient, secondClient];
        var key = NewKey();
        var body = Body(4200);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var sends = Enumerable.Range(0, 16).Select(async i =>
        {
            await start.Task;
            return await clients[i % 2].PostPaymentAsync(key, body);
        }).ToArray();
        start.SetResult();
        var responses = await Task.WhenAll(sends);
        try
        {
            await AssertOneExecutionOthersReplayedOrInFlightAsync(responses);

            Assert.Equal(1, await first.CountPaymentsAsync("alice", key));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Health_is_200_and_reports_the_Redis_check_beside_the_ledger()
    {
        await using var factory = new RedisPaymentApiFactory(PaymentApiFactory.NewDatabasePath(), redis.ConnectionString);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var checks = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("ledger").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("idempotency-redis").GetProperty("status").GetString());
    }

    [Fact]
    public async Task While_Redis_is_down_health_is_503_naming_Redis_and_a_payment_is_503_store_unavailable_without_charging()
    {
        await using var factory = new RedisPaymentApiFactory(PaymentApiFactory.NewDatabasePath(), redis.ConnectionString);
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        using (var before = await client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var key = NewKey();
        await redis.StopServerAsync();
        try
        {
            using var health = await client.GetAsync("/health");
            using var payment = await client.PostPaymentAsync(key, Body(1250));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            var report = await health.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Unhealthy", report.GetProperty("status").GetString());
            Assert.Equal("Unhealthy", report.GetProperty("checks").GetProperty("idempotency-redis").GetProperty("status").GetString());
            Assert.Equal("Healthy", report.GetProperty("checks").GetProperty("ledger").GetProperty("status").GetString());

            await AssertProblemAsync(payment, HttpStatusCode.ServiceUnavailable, "urn:idempotency:idempotency-store-unavailable");
            Assert.NotNull(payment.Headers.RetryAfter);
            Assert.Equal(0, await factory.CountPaymentsAsync("alice", key));
        }
        finally
        {
            await redis.StartServerAsync();
        }
    }
}
