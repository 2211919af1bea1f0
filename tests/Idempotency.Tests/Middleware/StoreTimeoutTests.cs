using System.Net;
using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Idempotency.Testing;

namespace Idempotency.Tests.Middleware;

/// <summary>What StoreTimeout does to a begin the store has not answered (docs/contract-notes.md, "Store timeouts").</summary>
public sealed class StoreTimeoutTests
{
    [Fact]
    public async Task A_begin_that_outlives_StoreTimeout_is_cancelled_so_the_store_never_starts_it_after_the_503()
    {
        var store = new UnansweredBeginStore();
        await using var app = await TestApp.StartAsync(
            options => options.StoreTimeout = TimeSpan.FromMilliseconds(200),
            services => services.AddSingleton<IIdempotencyStore>(store));

        using var response = await app.Client.SendAsync(TestApp.Post("/items", "key-1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
        var token = await store.BeginToken.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(token.IsCancellationRequested, "The store must learn that its caller gave up.");
        Assert.Equal(0, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task Time_a_store_spends_before_returning_its_begin_counts_against_StoreTimeout()
    {
        // The store uses up more than StoreTimeout before it returns its task (as a first connection attempt can), on a
        // clock nobody else moves: the middleware must answer 503 at once. Had it started timing only when the task
        // came back, its timer would never fire and the request would hang.
        var time = new FakeTimeProvider();
        var store = new UnansweredBeginStore { TimeUsedBeforeReturning = (time, TimeSpan.FromMilliseconds(400)) };
        await using var app = await TestApp.StartAsync(
            options => options.StoreTimeout = TimeSpan.FromMilliseconds(200),
            services => services.AddSingleton<IIdempotencyStore>(store).AddSingleton<TimeProvider>(time));

        using var response = await app.Client.SendAsync(TestApp.Post("/items", "key-1")).WaitAsync(TimeSpan.FromSeconds(30));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
        var token = await store.BeginToken.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(token.IsCancellationRequested);
    }

    [Fact]
    public async Task A_sequence_begin_that_outlives_StoreTimeout_is_cancelled_so_the_store_never_starts_it_after_the_503()
    {
        var store = new UnansweredBeginStore();
        await using var app = await TestApp.StartAsync(
            options => options.StoreTimeout = TimeSpan.FromMilliseconds(200),
            services => services.AddSingleton<IIdempotencyStore>(store));

        using var response = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, stream: "s-1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, "idempotency-store-unavailable");
        var token = await store.BeginToken.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(token.IsCancellationRequested, "The store must learn that its caller gave up.");
        Assert.Equal(0, app.Handlers.Executions("seq"));
    }

    /// <summary>A store whose begin never answers, as one still waiting for a connection; it keeps the token it was given.</summary>
    private sealed class UnansweredBeginStore : IIdempotencySequenceStore
    {
        public TaskCompletionSource<CancellationToken> BeginToken { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>A clock the begin moves forward before it returns its (never completing) task.</summary>
        public (FakeTimeProvider Clock, TimeSpan Used)? TimeUsedBeforeReturning { get; init; }

        public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        {
            if (TimeUsedBeforeReturning is var (clock, used))
            {
                clock.Advance(used);
            }

            BeginToken.TrySetResult(cancellationToken);
            return new ValueTask<IdempotencyBeginResult>(new TaskCompletionSource<IdempotencyBeginResult>().Task);
        }

        public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        {
            BeginToken.TrySetResult(cancellationToken);
            return new ValueTask<SequenceBeginResult>(new TaskCompletionSource<SequenceBeginResult>().Task);
        }

        public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken) => throw new InvalidOperationException("Never called: no begin succeeds.");

        public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken) => throw new InvalidOperationException("Never called: no begin succeeds.");

        public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken) => throw new InvalidOperationException("Never called: no begin succeeds.");

        public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken) => throw new InvalidOperationException("Never called: no begin succeeds.");

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken) => throw new InvalidOperationException("Never called: no begin succeeds.");

        public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken) => throw new InvalidOperationException("Never called: no begin succeeds.");
    }
}
