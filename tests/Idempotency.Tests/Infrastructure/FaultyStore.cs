using Idempotency.Storage;

namespace Idempotency.Tests.Infrastructure;

/// <summary>Wraps a store to count calls and inject faults per operation.</summary>
public sealed class FaultyStore(IIdempotencySequenceStore inner) : IIdempotencySequenceStore, IIdempotencyAdminStore
{
    private int _begins;
    private int _renewals;
    private int _completions;
    private int _releases;

    public int Begins => Volatile.Read(ref _begins);

    public int Renewals => Volatile.Read(ref _renewals);

    public int Completions => Volatile.Read(ref _completions);

    public int Releases => Volatile.Read(ref _releases);

    public int TotalCalls => Begins + Renewals + Completions + Releases;

    /// <summary>When set, begin calls this instead of the inner store (throw to simulate an outage).</summary>
    public Func<ValueTask<IdempotencyBeginResult>>? BeginOverride { get; set; }

    public Func<ValueTask<SequenceBeginResult>>? SequenceBeginOverride { get; set; }

    public Func<ValueTask<bool>>? RenewOverride { get; set; }

    public Func<ValueTask<bool>>? CompleteOverride { get; set; }

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _begins);
        return BeginOverride is { } fault ? fault() : inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);
    }

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _renewals);
        return RenewOverride is { } fault ? fault() : inner.RenewLeaseAsync(key, fencingToken, lease, cancellationToken);
    }

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _completions);
        return CompleteOverride is { } fault ? fault() : inner.CompleteAsync(key, fencingToken, response, retention, cancellationToken);
    }

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _releases);
        return inner.ReleaseAsync(key, fencingToken, cancellationToken);
    }

    public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _begins);
        return SequenceBeginOverride is { } fault ? fault() : inner.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);
    }

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _renewals);
        return RenewOverride is { } fault ? fault() : inner.RenewSequenceLeaseAsync(streamKey, fencingToken, lease, cancellationToken);
    }

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _completions);
        return CompleteOverride is { } fault ? fault() : inner.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, cancellationToken);
    }

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _releases);
        return inner.ReleaseSequenceAsync(streamKey, fencingToken, cancellationToken);
    }

    // The operator's view passes straight through: faults are injected into the request path only.
    public ValueTask<IdempotencyRecordInfo?> InspectRecordAsync(string key, CancellationToken cancellationToken)
        => ((IIdempotencyAdminStore)inner).InspectRecordAsync(key, cancellationToken);

    public ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken)
        => ((IIdempotencyAdminStore)inner).DeleteRecordAsync(key, cancellationToken);

    public ValueTask<IdempotencyStreamInfo?> InspectStreamAsync(string streamKey, CancellationToken cancellationToken)
        => ((IIdempotencyAdminStore)inner).InspectStreamAsync(streamKey, cancellationToken);

    public ValueTask<bool> ResetStreamAsync(string streamKey, CancellationToken cancellationToken)
        => ((IIdempotencyAdminStore)inner).ResetStreamAsync(streamKey, cancellationToken);
}
