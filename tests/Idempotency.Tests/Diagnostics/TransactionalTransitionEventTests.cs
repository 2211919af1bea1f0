using System.Diagnostics;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.Tests.Diagnostics;

/// <summary>Under a transactional policy a record completes at the commit and is released by rolling back.</summary>
public sealed class TransactionalTransitionEventTests
{
    private static readonly HashSet<string> Transitions = ["Executing", "Completed", "Replayed", "RolledBack", "Released"];

    [Fact]
    public async Task Commit_completes_the_record_and_a_rollback_releases_it_each_under_its_requests_trace()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddFakeLogging();
        builder.Services.AddSingleton<TestLedger>();
        builder.Services.AddScoped<TestUnitOfWork>();
        builder.Services.AddIdempotency(options => options.AddPolicy("tx", p => p.Transactional = true))
            .AddStore(services => new TransactionalTestStore(services.GetRequiredService<TestLedger>(), TimeProvider.System));
        await using var app = builder.Build();
        app.UseIdempotency();
        app.MapPost("/pay/{code:int}", (int code, TestUnitOfWork work) =>
        {
            work.Write("payment");
            return Results.Text("paid", statusCode: code);
        }).RequireIdempotency("tx");
        await app.StartAsync();
        var client = app.GetTestClient();

        var paid = await client.SendAsync(Traced("/pay/201", "key-1", out var first));
        await client.SendAsync(Traced("/pay/201", "key-1", out var retry));
        await client.SendAsync(Traced("/pay/503", "key-2", out var unavailable));

        var events = app.Services.GetRequiredService<FakeLogCollector>().GetSnapshot()
            .Where(r => r.Id.Name is { } name && Transitions.Contains(name))
            .Select(r => (Name: r.Id.Name, Record: r.GetStructuredStateValue("Record"), TraceId: r.GetStructuredStateValue("TraceId"), Token: r.GetStructuredStateValue("FencingToken")))
            .ToArray();
        Assert.Equal(["Executing", "Completed", "Replayed", "Executing", "RolledBack"], events.Select(e => e.Name));
        Assert.Equal([first, first, retry, unavailable, unavailable], events.Select(e => e.TraceId));
        Assert.Equal(events[0].Record, events[2].Record);
        Assert.NotEqual(events[0].Record, events[3].Record);
        Assert.Equal(events[0].Token, events[1].Token);
        Assert.Equal(events[3].Token, events[4].Token);
        Assert.Equal(System.Net.HttpStatusCode.Created, paid.StatusCode);
    }

    private static HttpRequestMessage Traced(string path, string key, out string traceId)
    {
        traceId = ActivityTraceId.CreateRandom().ToHexString();
        var request = TestApp.Post(path, key);
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        return request;
    }
}
