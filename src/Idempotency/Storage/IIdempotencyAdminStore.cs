namespace Idempotency.Storage;

/// <summary>
/// The optional capability of a store to let an operator see and repair what it holds: inspect or delete one record,
/// inspect or reset one sequence stream. The admin endpoints (<c>MapIdempotencyAdmin</c>) use it and nothing else does.
/// </summary>
/// <remarks>
/// <para>
/// A capability of its own rather than default methods on <see cref="IIdempotencyStore"/>: a default body could only
/// throw when an operator first asks, in the middle of an incident, or pretend the store is empty. As a separate
/// interface (like <see cref="IIdempotencySequenceStore"/>) the application fails at start-up, when it maps the admin
/// endpoints, if its store lacks it, and the request path's interface stays what it was for every store written
/// against it. The built-in stores (in-memory, Redis, Entity Framework Core) all implement it.
/// </para>
/// <para>
/// Keys are the same opaque store keys as in <see cref="IIdempotencyStore"/> and <see cref="IIdempotencySequenceStore"/>.
/// Times come from the store's clock (the database's, for a database), the one its leases and retentions run on. A
/// record or stream past its lease or retention is missing, whether or not the backend has removed it yet; a store that
/// keeps no streams answers every stream operation as for a missing stream.
/// </para>
/// <para>
/// Deleting is not fenced: it removes the record or stream whoever owns it. An owner still running then loses its
/// ownership (its renewal, completion and release return <see langword="false"/>, as after a takeover), so a repair
/// never lets an old owner's late write land on what the next request creates.
/// </para>
/// </remarks>
public interface IIdempotencyAdminStore
{
    /// <summary>What the store holds for the record <paramref name="key"/>.</summary>
    /// <param name="key">The record key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The record, or <see langword="null"/> when there is none (never created, released, expired or deleted).</returns>
    ValueTask<IdempotencyRecordInfo?> InspectRecordAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes the record <paramref name="key"/>, in flight or completed, so the next request with its key executes again.</summary>
    /// <param name="key">The record key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when a live record was deleted; <see langword="false"/> when there was none.</returns>
    ValueTask<bool> DeleteRecordAsync(string key, CancellationToken cancellationToken);

    /// <summary>What the store holds for the sequence stream <paramref name="streamKey"/>.</summary>
    /// <param name="streamKey">The stream key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stream, or <see langword="null"/> when it is missing (never created, expired or reset).</returns>
    ValueTask<IdempotencyStreamInfo?> InspectStreamAsync(string streamKey, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the sequence stream <paramref name="streamKey"/>: its epoch, last applied number, kept responses and
    /// in-flight slot. The stream is then missing, so its next request must carry number 1 (in any epoch).
    /// </summary>
    /// <param name="streamKey">The stream key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when a live stream was deleted; <see langword="false"/> when it was missing.</returns>
    ValueTask<bool> ResetStreamAsync(string streamKey, CancellationToken cancellationToken);
}
