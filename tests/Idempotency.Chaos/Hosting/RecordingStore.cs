using Idempotency.Chaos.History;
using Idempotency.Storage;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// Decorates the real store (Redis or in-memory) and writes down, on the execution of the request that made the call,
/// what became of its response: stored, fenced off, released, or never known because the call failed. It waits for
/// the store's own answer, not the middleware's: a completion the middleware stopped waiting for at StoreTimeout can
/// still land, and the history must hold what the store did.
/// </summary>
internal sealed class RecordingStore(IIdempotencySequenceStore inner) : IIdempotencySequenceStore, IAsyncDisposable
{
    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => inner.RenewLeaseAsync(key, fencingToken, lease, cancellationToken);

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
        => Observe(inner.CompleteAsync(key, fencingToken, response, retention, cancellationToken), CompletionOutcome.Stored);

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
        => Observe(inner.ReleaseAsync(key, fencingToken, cancellationToken), CompletionOutcome.Released);

    public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => inner.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => inner.RenewSequenceLeaseAsync(streamKey, fencingToken, lease, cancellationToken);

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
        => Observe(inner.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, cancellationToken), CompletionOutcome.Stored);

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
        => Observe(inner.ReleaseSequenceAsync(streamKey, fencingToken, cancellationToken), CompletionOutcome.Released);

    public ValueTask DisposeAsync()
    {
        (inner as IDisposable)?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static ValueTask<bool> Observe(ValueTask<bool> call, CompletionOutcome whenAccepted)
    {
        var execution = RequestTrace.Current?.Execution;
        if (execution is null)
        {
            return call;
        }

        var task = call.AsTask();
        _ = task.ContinueWith(
            completed => execution.Completion = completed.IsCompletedSuccessfully
                ? (completed.Result ? whenAccepted : CompletionOutcome.Fenced)
                : CompletionOutcome.Failed,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return new ValueTask<bool>(task);
    }
}
