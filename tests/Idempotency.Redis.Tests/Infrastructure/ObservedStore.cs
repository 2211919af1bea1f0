using System.Collections.Concurrent;
using Idempotency.Storage;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// Wraps the Redis store the way an application would decorate <see cref="IIdempotencyStore"/>: it counts calls and
/// their outcomes and can make renewals fail, while every other call reaches Redis unchanged.
/// </summary>
public sealed class ObservedStore(IIdempotencySequenceStore inner) : IIdempotencySequenceStore, IIdempotencyAdminStore
{
    private readonly ConcurrentQueue<bool> _completionResults = new();
    private readonly ConcurrentQueue<Task> _beginCalls = new();
    private int _begins;
    private int _renewals;
    private int _completions;
    private int _completionFailures;
    private int _releases;
    private string? _lastBeginKey;

    public int Begins => Volatile.Read(ref _begins);

    public int Renewals => Volatile.Read(ref _renewals);

    public int Completions => Volatile.Read(ref _completions);

    /// <summary>Completions that threw (Redis unreachable) rather than answering.</summary>
    public int CompletionFailures => Volatile.Read(ref _completionFailures);

    public int Releases => Volatile.Read(ref _releases);

    /// <summary>What each answered completion returned, in order: <see langword="false"/> means it was fenced off.</summary>
    public IReadOnlyCollection<bool> CompletionResults => _completionResults;

    /// <summary>
    /// Every begin the middleware started, finished or not, in order: a test awaits one to know that the store is done
    /// with it, even when the middleware stopped waiting long before.
    /// </summary>
    public IReadOnlyCollection<Task> BeginCalls => _beginCalls;

    /// <summary>The record key of the latest begin, to find the record in Redis.</summary>
    public string? LastBeginKey => Volatile.Read(ref _lastBeginKey);

    /// <summary>When set, renewals call this instead of Redis (throw to make them fail).</summary>
    public Func<ValueTask<bool>>? RenewOverride { get; set; }

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _begins);
        Volatile.Write(ref _lastBeginKey, key);
        var call = inner.TryBeginAsync(key, fingerprint, lease, cancellationToken).AsTask();
        _beginCalls.Enqueue(call);
        return new ValueTask<IdempotencyBeginResult>(call);
    }

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _renewals);
        return RenewOverride is { } fault ? fault() : inner.RenewLeaseAsync(key, fencingToken, lease, cancellationToken);
    }

    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _completions);
        try
        {
            var completed = await inner.CompleteAsync(key, fencingToken, response, retention, cancellationToken);
            _completionResults.Enqueue(completed);
            return completed;
        }
        catch
        {
            Interlocked.Increment(ref _completionFailures);
            throw;
        }
    }

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _releases);
        return inner.ReleaseAsync(key, fencingToken, cancellationToken);
    }

    // Sequence operations are not observed: the tests using this wrapper are about key mode.
    public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => inner.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => inner.RenewSequenceLeaseAsync(streamKey, fencingToken, lease, cancellationToken);

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
        => inner.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, cancellationToken);

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
        => inner.ReleaseSequenceAsync(streamKey, fencingToken, cancellationToken);

    // The operator's view passes straight through, unobserved: only the request path is recorded.
    public ValueTask<IdempotencyRecordInfo?> InspectRecordAsync(string key, CancellationToken cancellationToken)
        => ((IIdempotencyAdminStore)inner).InspectRecordAsync(key, cancellationToken);

    public ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken)
        => ((IIdempotencyAdminStore)inner).DeleteRecordAsync(key, cancellationToken);

    public ValueTask<IdempotencyStreamInfo?> InspectStreamAsync(string streamKey, CancellationToken cancellationToken)
        => ((IIdempotencyAdminStore)inner).InspectStreamAsync(streamKey, cancellationToken);

    public ValueTask<bool> ResetStreamAsync(string streamKey, CancellationToken cancellationToken)
        => ((IIdempotencyAdminStore)inner).ResetStreamAsync(streamKey, cancellationToken);
}
