namespace Idempotency.Storage;

/// <summary>
/// The optional capability of a store to keep a request's record in the same database transaction as the handler's own
/// writes, for policies whose <see cref="IdempotencyPolicy.Transactional"/> is set: the record and the business data
/// then commit together or not at all, so a crash between the two can never let a retry run the operation again.
/// </summary>
/// <remarks>
/// <para>
/// The middleware opens one <see cref="IIdempotencyStoreTransaction"/> per request before the handler runs, on the
/// connection the handler writes through (resolved from the request's services), begins the record inside it, runs the
/// handler with its response held, completes the record inside it, commits, and only then sends the response. A
/// failure before the commit rolls everything back, the handler's writes included.
/// </para>
/// <para>
/// Inside a transaction an acquired record (or a stream's in-flight slot) is the transaction's own uncommitted row:
/// nobody else sees it, a concurrent begin of the same key waits for the transaction to end (at most the lock timeout
/// given here), and a crashed process leaves nothing behind. The store's non-transactional operations still serve
/// every other policy and must see what a committed transaction wrote.
/// </para>
/// </remarks>
public interface IIdempotencyTransactionalStore : IIdempotencyStore
{
    /// <summary>Opens a transaction for one request on the connection its handler writes through.</summary>
    /// <param name="requestServices">The request's services, from which the store resolves the handler's unit of work (a scoped <c>DbContext</c>, say).</param>
    /// <param name="lockTimeout">
    /// How long a begin inside this transaction may wait for another transaction that holds the same record or stream;
    /// <see cref="TimeSpan.Zero"/> waits as little as the database allows. A begin that waits longer reports
    /// <see cref="IdempotencyBeginStatus.InFlight"/> (or <see cref="SequenceBeginStatus.InFlight"/>).
    /// </param>
    /// <param name="cancellationToken">Cancels opening the transaction.</param>
    /// <returns>The open transaction; disposing it without <see cref="IIdempotencyStoreTransaction.CommitAsync"/> rolls it back.</returns>
    /// <exception cref="IdempotencyStoreUnavailableException">The database cannot be reached.</exception>
    /// <exception cref="InvalidOperationException">The request's unit of work already has a transaction of its own.</exception>
    ValueTask<IIdempotencyStoreTransaction> BeginTransactionAsync(IServiceProvider requestServices, TimeSpan lockTimeout, CancellationToken cancellationToken);
}
