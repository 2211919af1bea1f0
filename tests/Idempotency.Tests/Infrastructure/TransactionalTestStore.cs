using System.Collections.Concurrent;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.Tests.Infrastructure;

/// <summary>
/// A transactional store over the in-memory store, for the middleware's side of transactional mode: a transaction
/// holds a per-key lock (the row lock of a database), keeps the completion until it commits, and commits the request's
/// <see cref="TestUnitOfWork"/> writes into the <see cref="TestLedger"/> with it. Its faults are switches.
/// </summary>
public sealed class TransactionalTestStore : IIdempotencyTransactionalStore, IIdempotencySequenceStore, IDisposable
{
    private readonly InMemoryIdempotencyStore _inner;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public TransactionalTestStore(TestLedger ledger, TimeProvider time)
    {
        Ledger = ledger;
        _inner = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), time);
    }

    public TestLedger Ledger { get; }

    public bool FailCommit { get; set; }

    public bool FenceCompletion { get; set; }

    /// <summary>When set, a commit waits for it (and <see cref="CommitWaiting"/> says one does).</summary>
    public TaskCompletionSource? CommitGate { get; set; }

    public volatile bool CommitWaiting;

    /// <summary>Whether a transaction was disposed while one of its operations still ran (a transaction is never used by two threads at once).</summary>
    public volatile bool DisposedWhileInUse;

    public int TransactionsOpened;

    public int TransactionsEnded;

    public TimeSpan LastLockTimeout { get; private set; }

    public ValueTask<IIdempotencyStoreTransaction> BeginTransactionAsync(IServiceProvider requestServices, TimeSpan lockTimeout, CancellationToken cancellationToken)
    {
        var unitOfWork = requestServices.GetRequiredService<TestUnitOfWork>();
        if (unitOfWork.InTransaction)
        {
            throw new InvalidOperationException("The unit of work already has a transaction.");
        }

        unitOfWork.InTransaction = true;
        LastLockTimeout = lockTimeout;
        Interlocked.Increment(ref TransactionsOpened);
        return ValueTask.FromResult<IIdempotencyStoreTransaction>(new Transaction(this, unitOfWork, lockTimeout));
    }

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => _inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => _inner.RenewLeaseAsync(key, fencingToken, lease, cancellationToken);

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
        => _inner.CompleteAsync(key, fencingToken, response, retention, cancellationToken);

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
        => _inner.ReleaseAsync(key, fencingToken, cancellationToken);

    public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => _inner.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);

    public ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => _inner.RenewSequenceLeaseAsync(streamKey, fencingToken, lease, cancellationToken);

    public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
        => _inner.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, cancellationToken);

    public ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
        => _inner.ReleaseSequenceAsync(streamKey, fencingToken, cancellationToken);

    public void Dispose() => _inner.Dispose();

    private sealed class Transaction(TransactionalTestStore store, TestUnitOfWork unitOfWork, TimeSpan lockTimeout) : IIdempotencyStoreTransaction
    {
        private SemaphoreSlim? _lock;
        private string? _key;
        private bool _stream;
        private long _token;
        private Func<ValueTask<bool>>? _completion;
        private bool _committed;
        private volatile bool _inUse;

        public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
            => LockedAsync("r:" + key, async () =>
            {
                var begun = await store._inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);
                Own(key, stream: false, begun.Status == IdempotencyBeginStatus.Acquired ? begun.FencingToken : 0);
                return begun;
            }, IdempotencyBeginResult.InFlight());

        public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
            => LockedAsync("s:" + streamKey, async () =>
            {
                var begun = await store._inner.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);
                Own(streamKey, stream: true, begun.Status == SequenceBeginStatus.Acquired ? begun.FencingToken : 0);
                return begun;
            }, SequenceBeginResult.InFlight());

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
        {
            if (store.FenceCompletion || key != _key || fencingToken != _token)
            {
                return ValueTask.FromResult(false);
            }

            _completion = () => store._inner.CompleteAsync(key, fencingToken, response, retention, CancellationToken.None);
            return ValueTask.FromResult(true);
        }

        public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
        {
            if (store.FenceCompletion || streamKey != _key || fencingToken != _token)
            {
                return ValueTask.FromResult(false);
            }

            _completion = () => store._inner.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, CancellationToken.None);
            return ValueTask.FromResult(true);
        }

        public async ValueTask CommitAsync(CancellationToken cancellationToken)
        {
            if (store.FailCommit)
            {
                throw new IdempotencyStoreUnavailableException("The commit failed.");
            }

            if (store.CommitGate is { } gate)
            {
                store.CommitWaiting = true;
                _inUse = true;
                try
                {
                    await gate.Task.WaitAsync(cancellationToken);
                }
                finally
                {
                    _inUse = false;
                }
            }

            if (_completion is null || !await _completion())
            {
                throw new InvalidOperationException("Committed without a completion.");
            }

            store.Ledger.Commit(unitOfWork.TakePending());
            _committed = true;
        }

        public async ValueTask DisposeAsync()
        {
            if (_inUse)
            {
                store.DisposedWhileInUse = true;
            }

            if (!_committed)
            {
                unitOfWork.TakePending();
                if (_token != 0)
                {
                    _ = _stream
                        ? await store._inner.ReleaseSequenceAsync(_key!, _token, CancellationToken.None)
                        : await store._inner.ReleaseAsync(_key!, _token, CancellationToken.None);
                }
            }

            unitOfWork.InTransaction = false;
            _lock?.Release();
            _lock = null;
            Interlocked.Increment(ref store.TransactionsEnded);
        }

        private void Own(string key, bool stream, long token)
        {
            _key = key;
            _stream = stream;
            _token = token;
        }

        private async ValueTask<T> LockedAsync<T>(string lockKey, Func<Task<T>> begin, T timedOut)
        {
            var gate = store._locks.GetOrAdd(lockKey, static _ => new SemaphoreSlim(1, 1));
            if (!await gate.WaitAsync(lockTimeout == TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : lockTimeout))
            {
                return timedOut;
            }

            _lock = gate;
            return await begin();
        }
    }
}

/// <summary>A request's pending business writes (scoped), committed into the <see cref="TestLedger"/> with the record.</summary>
public sealed class TestUnitOfWork
{
    private List<string> _pending = [];

    public bool InTransaction { get; set; }

    public void Write(string row) => _pending.Add(row);

    public List<string> TakePending()
    {
        var taken = _pending;
        _pending = [];
        return taken;
    }
}

/// <summary>The committed business rows, and the order in which commits and the first response bytes happened.</summary>
public sealed class TestLedger
{
    private readonly object _gate = new();
    private readonly List<string> _rows = [];
    private readonly List<string> _events = [];

    public IReadOnlyList<string> Rows
    {
        get
        {
            lock (_gate)
            {
                return [.. _rows];
            }
        }
    }

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public void Commit(List<string> rows)
    {
        lock (_gate)
        {
            _rows.AddRange(rows);
            _events.Add("commit");
        }
    }

    public void Note(string @event)
    {
        lock (_gate)
        {
            _events.Add(@event);
        }
    }
}
