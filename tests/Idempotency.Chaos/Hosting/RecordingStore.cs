using System.Collections.Concurrent;
using Idempotency.Chaos.History;
using Idempotency.Storage;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// Decorates the real store (Redis or in-memory) and writes down, on the run's clock, what each execution's store
/// calls did: when its lease was granted and until when it can have lasted (begin and every renewal), and what became
/// of its response (stored, fenced off, released, or never known because the call failed), with the completion's
/// start and end and the headers captured for the record. It waits for the store's own answer, not the middleware's: a
/// completion the middleware stopped waiting for at StoreTimeout can still land, and the history must hold what the
/// store did. After the run it reads the store back for every failed completion, to tell one that landed after all
/// from one that did not. Where a proxy delays every chunk, the least latency it applied during a call tightens the
/// times: the call reached the store at least that long after it started, and the answer left it at least that long
/// before it arrived.
/// </summary>
internal sealed class RecordingStore : IIdempotencySequenceStore, IAsyncDisposable
{
    private readonly IIdempotencySequenceStore _inner;
    private readonly HistoryRecorder _history;
    private readonly ConcurrentDictionary<(string Key, long Token), Ownership> _owned = new();
    private readonly Func<TimeSpan, TimeSpan, TimeSpan>? _latencyFloor;
    private readonly IStoreCommandLog? _log;

    public RecordingStore(IIdempotencySequenceStore inner, HistoryRecorder history, Func<TimeSpan, TimeSpan, TimeSpan>? latencyFloor = null, IStoreCommandLog? log = null)
    {
        _inner = inner;
        _history = history;
        _latencyFloor = latencyFloor;
        _log = log;
        history.AfterSettling(AfterSettlingAsync);
    }

    public async ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        _history.StartWork();
        try
        {
            var startedAt = _history.Now;
            var result = await _inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);
            if (result.Status == IdempotencyBeginStatus.Acquired)
            {
                Own(key, result.FencingToken, startedAt, lease, new Ownership(fingerprint.ToArray(), Sequence: null));
            }

            return result;
        }
        finally
        {
            _history.EndWork();
        }
    }

    public async ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
    {
        _history.StartWork();
        try
        {
            var startedAt = _history.Now;
            var result = await _inner.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);
            if (result.Status == SequenceBeginStatus.Acquired)
            {
                Own(streamKey, result.FencingToken, startedAt, lease, new Ownership(fingerprint.ToArray(), (epoch, sequenceNumber)));
            }

            return result;
        }
        finally
        {
            _history.EndWork();
        }
    }

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => RenewAsync(_inner.RenewLeaseAsync(key, fencingToken, lease, cancellationToken), key, fencingToken, lease);

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => RenewAsync(_inner.RenewSequenceLeaseAsync(streamKey, fencingToken, lease, cancellationToken), streamKey, fencingToken, lease);

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
        => ObserveAsync(() => _inner.CompleteAsync(key, fencingToken, response, retention, cancellationToken), key, fencingToken, response, CompletionOutcome.Stored);

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
        => ObserveAsync(() => _inner.ReleaseAsync(key, fencingToken, cancellationToken), key, fencingToken, response: null, CompletionOutcome.Released);

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
        => ObserveAsync(() => _inner.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, cancellationToken), streamKey, fencingToken, response, CompletionOutcome.Stored);

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
        => ObserveAsync(() => _inner.ReleaseSequenceAsync(streamKey, fencingToken, cancellationToken), streamKey, fencingToken, response: null, CompletionOutcome.Released);

    public ValueTask DisposeAsync()
    {
        (_inner as IDisposable)?.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Own(string key, long token, TimeSpan startedAt, TimeSpan lease, Ownership ownership)
    {
        var answeredAt = _history.Now;
        var floor = LatencyFloor(startedAt, answeredAt);
        ownership.Lease = new LeaseRecord(startedAt + floor, answeredAt - floor + lease, lease);
        ownership.Trace = RequestTrace.Current;
        if (ownership.Trace is not null)
        {
            ownership.Trace.Lease = ownership.Lease;
        }

        _owned[(key, token)] = ownership;
    }

    private async ValueTask<bool> RenewAsync(ValueTask<bool> call, string key, long token, TimeSpan lease)
    {
        _history.StartWork();
        try
        {
            _owned.TryGetValue((key, token), out var ownership);
            var startedAt = _history.Now;
            bool renewed;
            try
            {
                renewed = await call;
            }
            catch
            {
                // No answer: the renewal may still reach the store and extend the lease at any moment.
                ownership?.Lease?.Forget();
                throw;
            }

            if (renewed)
            {
                var answeredAt = _history.Now;
                ownership?.Lease?.Extend(answeredAt - LatencyFloor(startedAt, answeredAt), lease);
            }

            return renewed;
        }
        finally
        {
            _history.EndWork();
        }
    }

    private async ValueTask<bool> ObserveAsync(Func<ValueTask<bool>> call, string key, long token, StoredResponse? response, CompletionOutcome whenAccepted)
    {
        _history.StartWork();
        try
        {
            _owned.TryGetValue((key, token), out var ownership);
            var execution = ownership?.Trace?.Execution;
            if (execution is not null && response is not null)
            {
                execution.Headers = Flatten(response.Headers);
            }

            var startedAt = _history.Now;
            try
            {
                var accepted = await call();
                execution?.Complete(accepted ? whenAccepted : CompletionOutcome.Fenced, startedAt, _history.Now);
                return accepted;
            }
            catch
            {
                execution?.Complete(CompletionOutcome.Failed, startedAt, _history.Now);
                throw;
            }
        }
        finally
        {
            _history.EndWork();
        }
    }

    private TimeSpan LatencyFloor(TimeSpan from, TimeSpan to) => _latencyFloor?.Invoke(from, to) ?? TimeSpan.Zero;

    /// <summary>Hands every lease the store's log of its commands, when there is one; then reads failed completions back.</summary>
    private async Task AfterSettlingAsync()
    {
        if (_log is not null)
        {
            foreach (var ((_, token), ownership) in _owned)
            {
                ownership.Lease?.Logged(_log, _log.TimesOf(token));
            }
        }

        await ReadBackFailedCompletionsAsync();
    }

    /// <summary>
    /// For every completion that failed, asks the store what its record holds now, with the fingerprint the lease was
    /// granted for: this response (it landed), another execution's response or no record at all (it did not), or
    /// something that cannot tell (left unknown, which earns no credit).
    /// </summary>
    private async Task ReadBackFailedCompletionsAsync()
    {
        foreach (var ((key, _), ownership) in _owned)
        {
            if (ownership.Trace?.Execution is not { Completion: CompletionOutcome.Failed } execution)
            {
                continue;
            }

            try
            {
                execution.Landed = await ReadBackAsync(key, ownership, execution);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                execution.Landed = null;
            }
        }
    }

    private async Task<bool?> ReadBackAsync(string key, Ownership ownership, ExecutionRecord execution)
    {
        var lease = TimeSpan.FromSeconds(30);
        if (ownership.Sequence is not { } sequence)
        {
            var begun = await _inner.TryBeginAsync(key, ownership.Fingerprint, lease, CancellationToken.None);
            switch (begun.Status)
            {
                case IdempotencyBeginStatus.Completed:
                    return Holds(begun.Response!, execution);
                case IdempotencyBeginStatus.Acquired:
                    await _inner.ReleaseAsync(key, begun.FencingToken, CancellationToken.None);
                    return false;
                default:
                    return null;
            }
        }

        var next = await _inner.TryBeginSequenceAsync(key, sequence.Epoch, sequence.Number, ownership.Fingerprint, lease, CancellationToken.None);
        switch (next.Status)
        {
            case SequenceBeginStatus.Completed:
                return Holds(next.Response!, execution);
            case SequenceBeginStatus.Acquired:
                await _inner.ReleaseSequenceAsync(key, next.FencingToken, CancellationToken.None);
                return false;
            case SequenceBeginStatus.Gap:
                // The stream has not reached this number: it was never applied.
                return false;
            default:
                return null;
        }
    }

    private static bool Holds(StoredResponse stored, ExecutionRecord execution)
        => stored.StatusCode == execution.Status && stored.Body.Span.SequenceEqual(execution.Body);

    private static KeyValuePair<string, string>[] Flatten(IReadOnlyList<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>> headers)
    {
        var flat = new KeyValuePair<string, string>[headers.Count];
        for (var i = 0; i < headers.Count; i++)
        {
            flat[i] = new(headers[i].Key, string.Join(", ", headers[i].Value.ToArray()));
        }

        return flat;
    }

    /// <summary>One lease the store granted through this decorator, and what it takes to ask the store about it again.</summary>
    private sealed record Ownership(byte[] Fingerprint, (long Epoch, long Number)? Sequence)
    {
        public LeaseRecord? Lease { get; set; }

        public RequestTrace? Trace { get; set; }
    }
}
