using System.Collections.Concurrent;
using Idempotency.Storage;

namespace Idempotency.Chaos.Faults;

/// <summary>
/// The negative control's deliberately broken store: it ignores the lease check on begin. Where the real store answers
/// "in flight" for a key whose lease is live, this one releases the live owner's record with the owner's token and
/// begins again, handing the caller a second lease while the first owner still runs; that owner's completion is then
/// fenced. Its answers are otherwise the real store's, so a checker that took a fenced completion for proof that a lease
/// had ended would score its duplicates as allowed. The owners' tokens are shared by every instance of a scenario.
/// </summary>
internal sealed class LeaseStealingStore(IIdempotencySequenceStore inner, ConcurrentDictionary<string, long> owners) : IIdempotencySequenceStore, IDisposable
{
    public async ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        var result = await inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);
        if (result.Status == IdempotencyBeginStatus.InFlight
            && owners.TryGetValue(key, out var owner)
            && await inner.ReleaseAsync(key, owner, cancellationToken))
        {
            result = await inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);
        }

        if (result.Status == IdempotencyBeginStatus.Acquired)
        {
            owners[key] = result.FencingToken;
        }

        return result;
    }

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => inner.RenewLeaseAsync(key, fencingToken, lease, cancellationToken);

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
        => inner.CompleteAsync(key, fencingToken, response, retention, cancellationToken);

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
        => inner.ReleaseAsync(key, fencingToken, cancellationToken);

    public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => inner.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => inner.RenewSequenceLeaseAsync(streamKey, fencingToken, lease, cancellationToken);

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
        => inner.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, cancellationToken);

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
        => inner.ReleaseSequenceAsync(streamKey, fencingToken, cancellationToken);

    public void Dispose() => (inner as IDisposable)?.Dispose();
}
