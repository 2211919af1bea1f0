using System.Net;
using Idempotency.Tests.Infrastructure;
using Idempotency.Testing;

namespace Idempotency.Tests.Middleware;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Sixty_four_concurrent_requests_with_one_key_execute_the_handler_once()
    {
        await using var app = await TestApp.StartAsync();
        using var start = new ManualResetEventSlim();
        var requests = new Task<HttpResponseMessage>[64];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = Task.Run(async () =>
            {
                start.Wait();
                return await app.Client.SendAsync(TestApp.Post("/items", "hot-key"));
            });
        }

        start.Set();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(1, app.Handlers.Executions("items"));
        var created = 0;
        foreach (var response in responses)
        {
            if (response.StatusCode == HttpStatusCode.Created)
            {
                created++;
                Assert.Equal("{\"execution\":1,\"echo\":{\"amount\":100}}", await response.Content.ReadAsStringAsync());
            }
            else
            {
                await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, "idempotency-request-in-flight");
            }
        }

        Assert.True(created >= 1);
    }

    [Fact]
    public async Task Concurrent_requests_with_distinct_keys_all_execute()
    {
        await using var app = await TestApp.StartAsync();
        var requests = new Task<HttpResponseMessage>[64];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = app.Client.SendAsync(TestApp.Post("/items", $"key-{i}"));
        }

        var responses = await Task.WhenAll(requests);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Equal(64, app.Handlers.Executions("items"));
    }
}
