using Idempotency.Storage;

namespace PaymentApi.Tests;

/// <summary>
/// A store that hands out every key and remembers nothing, so to the middleware each request is the first one: it
/// stands in for idempotency records that were lost (evicted, expired, or a restarted in-memory store). Counts calls.
/// </summary>
public sealed class ForgetfulIdempotencyStore : IIdempotencySequenceStore
{
    private long _calls;
    private long _lastToken;

    /// <summary>How many store operations the middleware has made.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return ValueTask.FromResult(IdempotencyBeginResult.Acquired(Interlocked.Increment(ref _lastToken)));
    }

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken) => Owned();

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken) => Owned();

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken) => Owned();

    public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return ValueTask.FromResult(SequenceBeginResult.Acquired(Interlocked.Increment(ref _lastToken)));
    }

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken) => Owned();

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken) => Owned();

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken) => Owned();

    private ValueTask<bool> Owned()
    {
        Interlocked.Increment(ref _calls);
        return ValueTask.FromResult(true);
    }
}
