namespace Idempotency.Storage;

/// <summary>
/// One request's database transaction, opened by <see cref="IIdempotencyTransactionalStore.BeginTransactionAsync"/>.
/// Its operations follow the store contract of <see cref="IIdempotencyStore"/> and <see cref="IIdempotencySequenceStore"/>
/// with two differences: what it writes is seen by others only once <see cref="CommitAsync"/> succeeds, and there is
/// no renew or release (the transaction holds what it acquired until it ends; a rollback releases it).
/// </summary>
/// <remarks>
/// A transaction serves one request on one connection and is never used by two threads at once.
/// <see cref="IAsyncDisposable.DisposeAsync"/> rolls back unless <see cref="CommitAsync"/> succeeded, and must not throw.
/// </remarks>
public interface IIdempotencyStoreTransaction : IAsyncDisposable
{
    /// <summary>As <see cref="IIdempotencyStore.TryBeginAsync"/>, inside the transaction: an acquired record is this transaction's uncommitted row.</summary>
    ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>As <see cref="IIdempotencyStore.CompleteAsync"/>, inside the transaction: the completion commits with it.</summary>
    ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>As <see cref="IIdempotencySequenceStore.TryBeginSequenceAsync"/>, inside the transaction: the slot is held by this transaction until it ends.</summary>
    /// <exception cref="NotSupportedException">The store keeps no sequence streams.</exception>
    ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>As <see cref="IIdempotencySequenceStore.CompleteSequenceAsync"/>, inside the transaction: the stream's last applied number advances with it.</summary>
    /// <exception cref="NotSupportedException">The store keeps no sequence streams.</exception>
    ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>Commits the handler's writes and the record together.</summary>
    /// <exception cref="IdempotencyStoreUnavailableException">The commit failed or its outcome is unknown; the caller must not report success.</exception>
    ValueTask CommitAsync(CancellationToken cancellationToken);
}
