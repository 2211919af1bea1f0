using System.Net;
using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

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
    private sealed class UnansweredBeginStore : IIdempotencyStore
    {
        public TaskCompletionSource<CancellationToken> BeginToken { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        {
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
