namespace Idempotency.Storage;

/// <summary>
/// The seam between the idempotency middleware and durable state for keyed records. Every operation is atomic on one
/// record and ownership of an in-flight record is proved by a fencing token, so a request whose lease expired can never
/// overwrite or release the record of the request that took over. A store that also keeps sequence streams implements
/// <see cref="IIdempotencySequenceStore"/>.
/// </summary>
/// <remarks>
/// <para>
/// Record keys are opaque, already scoped and hashed by the middleware: a store must not parse them. Keys are at most
/// 64 ASCII characters and safe to embed in any storage key. The one structure a store may rely on: every key of one
/// scope (one principal, or whatever the scope resolver names) begins with the same 16 characters, so a store can
/// bound one scope's share of its capacity without knowing who the scope is.
/// </para>
/// <para>
/// Implementations must be thread-safe. A store that cannot reach its backend throws
/// <see cref="IdempotencyStoreUnavailableException"/>; the middleware then answers <c>503 idempotency-store-unavailable</c>
/// (or runs the handler unprotected when the policy is fail-open). A store that is full throws
/// <see cref="IdempotencyStoreCapacityException"/>. Any other exception, such as an <see cref="InvalidDataException"/>
/// for a record the store cannot read, is a server error and never fails open. A store keeps a
/// <see cref="StoredResponse"/> with <see cref="StoredResponseSerializer"/> (or by reference, in memory).
/// </para>
/// <para>
/// Fencing tokens must never repeat for a key, even after its record expired and was created again, so a token kept
/// inside the record itself (which would restart) is not enough. An expired lease is lost even if nobody took over:
/// the old owner's renew, complete and release return <see langword="false"/>. Every lease and retention must be
/// positive; a store throws <see cref="ArgumentOutOfRangeException"/> otherwise, before it is touched. A store keeps the
/// <see cref="StoredResponse"/> it is given by reference or copies it; the middleware never changes one after handing
/// it over. The Idempotency.Testing package states this contract as executable tests (see docs/custom-store.md); the
/// behaviour clients see is described in docs/contract.md.
/// </para>
/// </remarks>
public interface IIdempotencyStore
{
    /// <summary>
    /// Atomically looks up the record and, when there is none (or its lease has expired), creates an in-flight
    /// record owned by the caller.
    /// </summary>
    /// <param name="key">The record key.</param>
    /// <param name="fingerprint">The request fingerprint; compared with the stored one before anything else.</param>
    /// <param name="lease">How long the in-flight record stays owned unless renewed.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>
    /// <see cref="IdempotencyBeginStatus.Acquired"/> with a fresh fencing token;
    /// <see cref="IdempotencyBeginStatus.FingerprintMismatch"/> when a live record has another fingerprint (in flight or completed);
    /// <see cref="IdempotencyBeginStatus.InFlight"/> when another owner holds a live lease;
    /// <see cref="IdempotencyBeginStatus.Completed"/> with the stored response.
    /// </returns>
    ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Extends the lease of an in-flight record, only if <paramref name="fencingToken"/> still owns it.</summary>
    /// <returns><see langword="true"/> when the lease was extended; <see langword="false"/> when the caller no longer owns the record.</returns>
    ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Turns the in-flight record into a completed one holding <paramref name="response"/> for
    /// <paramref name="retention"/>, only if <paramref name="fencingToken"/> still owns it.
    /// </summary>
    /// <returns><see langword="true"/> when stored; <see langword="false"/> when the caller no longer owns the record (nothing is written).</returns>
    ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>Deletes the in-flight record so a retry executes again, only if <paramref name="fencingToken"/> still owns it.</summary>
    /// <returns><see langword="true"/> when released; <see langword="false"/> when the caller no longer owns the record (nothing is changed).</returns>
    ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken);
}
