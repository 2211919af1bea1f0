using System.Net;
using Idempotency.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.StoreKit.Tests;

/// <summary>A store of one's own says "no room" with the public capacity exception, and the middleware answers it as it answers the built-in stores.</summary>
public sealed class CapacityTests
{
    [Theory]
    [InlineData(StoreCapacityReason.StoreFull, HttpStatusCode.ServiceUnavailable, "idempotency-store-full")]
    [InlineData(StoreCapacityReason.ScopeQuotaExceeded, HttpStatusCode.TooManyRequests, "idempotency-quota-exceeded")]
    public async Task A_store_that_refuses_for_room_gets_its_problem_with_Retry_After_and_the_handler_never_runs_even_failing_open(
        StoreCapacityReason reason, HttpStatusCode status, string problem)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency(o => o.DefaultPolicy.FailOpen = true)
            .AddStore(_ => new FullStore(new IdempotencyStoreCapacityException(reason, TimeSpan.FromSeconds(7), "no room")));
        await using var app = builder.Build();
        app.UseIdempotency();
        var runs = 0;
        app.MapPost("/payments", () => Results.Ok(Interlocked.Increment(ref runs))).RequireIdempotency();
        await app.StartAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "/payments") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", "payment-1");

        var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        Assert.Contains(problem, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Equal(0, runs);
    }

    [Fact]
    public void An_unknown_reason_or_a_negative_delay_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotencyStoreCapacityException((StoreCapacityReason)7, TimeSpan.FromSeconds(1), "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotencyStoreCapacityException(StoreCapacityReason.StoreFull, TimeSpan.FromSeconds(-1), "x"));
    }

    private sealed class FullStore(IdempotencyStoreCapacityException refusal) : IIdempotencyStore
    {
        public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
            => ValueTask.FromException<IdempotencyBeginResult>(refusal);

        public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken) => new(false);

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken) => new(false);

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken) => new(false);
    }
}
