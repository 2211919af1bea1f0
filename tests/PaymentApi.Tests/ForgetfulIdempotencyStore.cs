using Idempotency.Storage;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using PaymentApi.Storage;

namespace PaymentApi.Tests;

/// <summary>
/// A store that hands out every key and remembers nothing, so to the middleware each request is the first one: it
/// stands in for idempotency records that were lost (expired, evicted from Redis, or a restarted in-memory store). Counts calls.
/// </summary>
/// <remarks>
/// Transactional like the sample's own store, so the sample's transactional policies run on it unchanged: a request's
/// transaction is a real one on its <see cref="LedgerDbContext"/>, which the ledger's writes join and which commits
/// (or rolls back) as the middleware says; only the record is never written.
/// </remarks>
public sealed class ForgetfulIdempotencyStore : IIdempotencySequenceStore, IIdempotencyTransactionalStore, IIdempotencyAdminStore
{
    // Nothing is remembered, so an operator finds nothing; implemented because the sample maps the admin endpoints in
    // Development, which refuse a store they cannot inspect.
    public ValueTask<IdempotencyRecordInfo?> InspectRecordAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<IdempotencyRecordInfo?>(null);

    public ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    public ValueTask<IdempotencyStreamInfo?> InspectStreamAsync(string streamKey, CancellationToken cancellationToken) => ValueTask.FromResult<IdempotencyStreamInfo?>(null);

    public ValueTask<bool> ResetStreamAsync(string streamKey, CancellationToken cancellationToken) => ValueTask.FromResult(false);

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

    public async ValueTask<IIdempotencyStoreTransaction> BeginTransactionAsync(IServiceProvider requestServices, TimeSpan lockTimeout, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        var transaction = await requestServices.GetRequiredService<LedgerDbContext>().Database.BeginTransactionAsync(cancellationToken);
        return new ForgetfulTransaction(this, transaction);
    }

    private sealed class ForgetfulTransaction(ForgetfulIdempotencyStore store, IDbContextTransaction transaction) : IIdempotencyStoreTransaction
    {
        public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken) =>
            store.TryBeginAsync(key, fingerprint, lease, cancellationToken);

        public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken) =>
            store.CompleteAsync(key, fencingToken, response, retention, cancellationToken);

        public ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken) =>
            store.TryBeginSequenceAsync(streamKey, epoch, sequenceNumber, fingerprint, lease, cancellationToken);

        public ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken) =>
            store.CompleteSequenceAsync(streamKey, fencingToken, response, window, retention, cancellationToken);

        public ValueTask CommitAsync(CancellationToken cancellationToken) => new(transaction.CommitAsync(cancellationToken));

        // Disposing an EF Core transaction that was not committed rolls it back.
        public ValueTask DisposeAsync() => transaction.DisposeAsync();
    }
}
