using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;
using Idempotency.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.Tests.Middleware;

/// <summary>
/// docs/contract.md §6: a record within its retention is never dropped to make room for another caller's, and one caller cannot
/// make the store refuse every other caller. A full store or a scope over its quota is a clear refusal (429 or 503 with
/// Retry-After), never unavailability: the handler does not run, not even on a fail-open policy.
/// </summary>
public sealed class StoreCapacityTests
{
    // Small enough that a few dozen requests fill it; each record here takes about 1 KiB, each stream about 500 bytes.
    private const long SizeLimit = 32 * 1024;

    // Far more requests than the store can hold, so a loop that never meets a refusal ends and fails instead of hanging.
    private const int Attempts = 1000;

    [Fact]
    public async Task A_retry_of_a_completed_payment_is_replayed_after_another_caller_filled_the_store()
    {
        await using var app = await StartAsync();
        var original = await app.Client.SendAsync(TestApp.Post("/items", "payment-1", user: "alice"));
        Assert.Equal(HttpStatusCode.Created, original.StatusCode);

        var last = await FillWithRecordsAsync(app, "mallory");

        // Replayed, not run a second time (a duplicate charge), whatever the other caller did.
        var retry = await app.Client.SendAsync(TestApp.Post("/items", "payment-1", user: "alice"));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await original.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        await ProblemAssert.IsProblemAsync(last, HttpStatusCode.TooManyRequests, "idempotency-quota-exceeded");
        Assert.True(last.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task When_many_callers_fill_the_store_newcomers_get_store_full_and_earlier_records_still_replay()
    {
        await using var app = await StartAsync();
        var original = await app.Client.SendAsync(TestApp.Post("/items", "payment-1", user: "alice"));

        var refusal = await FillStoreAsync(app, stream: false);

        await ProblemAssert.IsProblemAsync(refusal, HttpStatusCode.ServiceUnavailable, "idempotency-store-full");
        Assert.True(refusal.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        var newcomer = await app.Client.SendAsync(TestApp.Post("/items", "first", user: "newcomer"));
        await ProblemAssert.IsProblemAsync(newcomer, HttpStatusCode.ServiceUnavailable, "idempotency-store-full");
        var retry = await app.Client.SendAsync(TestApp.Post("/items", "payment-1", user: "alice"));
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await original.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_caller_opening_streams_until_its_quota_leaves_room_for_everyone_else()
    {
        await using var app = await StartAsync();

        HttpResponseMessage? refusal = null;
        for (var stream = 0; stream < Attempts && refusal is null; stream++)
        {
            var response = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, stream: Name("s", stream), user: "mallory"));
            refusal = response.StatusCode == HttpStatusCode.Created ? null : response;
        }

        Assert.NotNull(refusal);
        await ProblemAssert.IsProblemAsync(refusal, HttpStatusCode.TooManyRequests, "idempotency-quota-exceeded");
        var keyed = await app.Client.SendAsync(TestApp.Post("/items", "payment-1", user: "alice"));
        Assert.Equal(HttpStatusCode.Created, keyed.StatusCode);
        var sequenced = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, stream: "orders", user: "alice"));
        Assert.Equal(HttpStatusCode.Created, sequenced.StatusCode);
    }

    [Theory]
    [InlineData("newcomer", HttpStatusCode.ServiceUnavailable, "idempotency-store-full")]
    [InlineData("mallory", HttpStatusCode.TooManyRequests, "idempotency-quota-exceeded")]
    public async Task A_refusal_for_room_never_fails_open(string user, HttpStatusCode status, string problem)
    {
        await using var app = await StartAsync();
        await FillWithRecordsAsync(app, "mallory");
        if (status == HttpStatusCode.ServiceUnavailable)
        {
            await FillStoreAsync(app, stream: true);
        }

        var response = await app.Client.SendAsync(TestApp.Post("/fail-open", "k", user: user));

        await ProblemAssert.IsProblemAsync(response, status, problem);
        Assert.Equal(0, app.Handlers.Executions("fail-open"));
    }

    [Fact]
    public async Task A_sequenced_request_over_its_scope_quota_gets_429_and_does_not_run()
    {
        await using var app = await StartAsync();
        await FillWithRecordsAsync(app, "mallory");
        var executions = app.Handlers.Executions("seq");

        var response = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, stream: "orders", user: "mallory"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.TooManyRequests, "idempotency-quota-exceeded");
        Assert.Equal(executions, app.Handlers.Executions("seq"));
    }

    [Fact]
    public async Task Refusals_are_counted_as_request_outcomes_and_store_rejections()
    {
        await using var app = await StartAsync();
        var meters = app.Services.GetRequiredService<IMeterFactory>();
        using var requests = new MetricCollector<long>(meters, "Idempotency", "idempotency.requests");
        using var rejections = new MetricCollector<long>(meters, "Idempotency", "idempotency.store.rejections");

        await FillWithRecordsAsync(app, "mallory");
        await FillStoreAsync(app, stream: true);

        var outcomes = requests.GetMeasurementSnapshot().Select(m => (string?)m.Tags["idempotency.outcome"]).ToHashSet();
        Assert.Contains("quota_exceeded", outcomes);
        Assert.Contains("store_full", outcomes);
        var reasons = rejections.GetMeasurementSnapshot().Select(m => (string?)m.Tags["idempotency.store.rejection.reason"]).ToHashSet();
        Assert.Equal(["scope_quota", "store_full"], reasons.Order());
    }

    [Fact]
    public async Task Refusals_for_room_are_logged_per_request_without_a_stack_trace_and_each_is_counted()
    {
        // A caller sending new keys to a full store must not be able to grow the log by a stack trace per request: the
        // refusal is an expected answer, logged at Debug with its reason, and the request metric counts every one.
        await using var app = await TestApp.StartAsync(services: services =>
        {
            services.Configure<InMemoryIdempotencyStoreOptions>(o => o.SizeLimitBytes = SizeLimit);
            services.AddFakeLogging();
            services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
        });
        using var requests = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.requests");
        await FillWithRecordsAsync(app, "mallory");
        await FillStoreAsync(app, stream: false);
        for (var i = 0; i < 3; i++)
        {
            var refused = await app.Client.SendAsync(TestApp.Post("/items", Name("newcomer", i), user: "newcomer"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }

        var logs = app.Services.GetRequiredService<FakeLogCollector>().GetSnapshot();
        var outcomes = requests.GetMeasurementSnapshot().Select(m => (string?)m.Tags["idempotency.outcome"]).ToList();
        var full = logs.Where(r => r.Id.Name == "StoreFull").ToList();
        Assert.Equal(outcomes.Count(o => o == "store_full"), full.Count);
        Assert.True(full.Count >= 4);
        Assert.All(full, r =>
        {
            Assert.Null(r.Exception);
            Assert.Equal(LogLevel.Debug, r.Level);
            Assert.Contains(nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes), r.Message, StringComparison.Ordinal);
        });
        var quota = logs.Where(r => r.Id.Name == "QuotaExceeded").ToList();
        Assert.Equal(outcomes.Count(o => o == "quota_exceeded"), quota.Count);
        Assert.NotEmpty(quota);
        Assert.All(quota, r =>
        {
            Assert.Null(r.Exception);
            Assert.Equal(LogLevel.Debug, r.Level);
            Assert.Contains(nameof(InMemoryIdempotencyStoreOptions.MaxBytesPerScope), r.Message, StringComparison.Ordinal);
        });
    }

    private static Task<TestApp> StartAsync()
        => TestApp.StartAsync(services: services => services.Configure<InMemoryIdempotencyStoreOptions>(o => o.SizeLimitBytes = SizeLimit));

    /// <summary>
    /// Posts new keys as <paramref name="user"/> until one is refused, or as many as would fill the store several times
    /// over; returns the last response.
    /// </summary>
    private static async Task<HttpResponseMessage> FillWithRecordsAsync(TestApp app, string user)
    {
        HttpResponseMessage response = null!;
        for (var i = 0; i < SizeLimit / 100; i++)
        {
            response = await app.Client.SendAsync(TestApp.Post("/items", Name("key", i), user: user));
            if (response.StatusCode != HttpStatusCode.Created)
            {
                break;
            }
        }

        return response;
    }

    /// <summary>
    /// Callers one after another take what their quota allows (new keys, or new streams) until the store refuses one
    /// for being full; returns that refusal.
    /// </summary>
    private static async Task<HttpResponseMessage> FillStoreAsync(TestApp app, bool stream)
    {
        for (int user = 0, i = 0; user < Attempts && i < Attempts; i++)
        {
            var request = stream
                ? TestApp.Sequenced("/seq", 1, stream: Name("s", i), user: Name("user", user))
                : TestApp.Post("/items", Name("key", i), user: Name("user", user));
            var response = await app.Client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return response;
            }

            if (response.StatusCode != HttpStatusCode.Created)
            {
                // This caller has reached its quota: the next one carries on.
                user++;
            }
        }

        throw new InvalidOperationException($"{Attempts} requests never filled a store of {SizeLimit} bytes.");
    }

    private static string Name(string prefix, int i) => prefix + i.ToString(CultureInfo.InvariantCulture);
}
