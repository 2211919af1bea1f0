namespace Idempotency.Storage;

/// <summary>
/// The one seam between the idempotency middleware and durable state. Every operation is atomic on one record and
/// ownership of an in-flight record is proved by a fencing token, so a request whose lease expired can never
/// overwrite or release the record of the request that took over.
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
/// (or runs the handler unprotected when the policy is fail-open). Any other exception, such as an
/// <see cref="InvalidDataException"/> for a record the store cannot read, is a server error and never fails open.
/// The conformance test suite in <c>tests/Idempotency.Testing</c> states the contract as executable tests.
/// </para>
/// <para>
/// Two kinds of state share the seam: records (key mode, SPEC §3) and streams (sequence mode, SPEC §4). Their keys
/// are separate namespaces. Fencing tokens must never repeat for a key or stream, even after it expired and was
/// created again, so a token kept inside the record itself (which would restart) is not enough.
/// An expired lease is lost even if nobody took over: the old owner's renew, complete and release return
/// <see langword="false"/>. A stream lives while its retention (set by its last complete) runs or its slot's lease does,
/// whichever ends later; once neither does, it is missing (epoch 0, <c>last</c> 0), however long a released or
/// shortened lease would have run. A store keeps the <see cref="StoredResponse"/> it is given by reference or copies it;
/// the middleware never changes one after handing it over.
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

    /// <summary>
    /// Atomically decides what a numbered request of a stream gets (SPEC §4) and, when its number is next and the
    /// stream's single in-flight slot is free (or its lease has expired), gives the caller the slot.
    /// </summary>
    /// <param name="streamKey">The stream key (opaque, at most 64 ASCII characters; a namespace apart from record keys).</param>
    /// <param name="epoch">The client's incarnation, 0 or more.</param>
    /// <param name="sequenceNumber">The request's number, 1 or more.</param>
    /// <param name="fingerprint">The request fingerprint.</param>
    /// <param name="lease">How long the slot stays owned unless renewed.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>
    /// Decided in this order. A missing stream has epoch 0 and <c>last</c> 0.
    /// <list type="number">
    /// <item><paramref name="epoch"/> below the stream's: <see cref="SequenceBeginStatus.EpochFenced"/> with the stream's epoch.</item>
    /// <item>Let <c>last</c> be the stream's last applied number when the epochs are equal, or 0 when <paramref name="epoch"/>
    /// is newer (a new incarnation starts over; the stream's epoch is raised only when its first request completes).</item>
    /// <item><c>n &lt;= last</c>: the response kept for <c>n</c> in the window: <see cref="SequenceBeginStatus.Completed"/> when the
    /// fingerprint matches, else <see cref="SequenceBeginStatus.FingerprintMismatch"/>; none kept: <see cref="SequenceBeginStatus.AlreadyApplied"/> with <c>last</c>.</item>
    /// <item><c>n &gt; last + 1</c>: <see cref="SequenceBeginStatus.Gap"/> with <c>last</c>.</item>
    /// <item><c>n == last + 1</c> and a live slot: the same epoch and number with another fingerprint is
    /// <see cref="SequenceBeginStatus.FingerprintMismatch"/>; anything else <see cref="SequenceBeginStatus.InFlight"/>.</item>
    /// <item>Otherwise <see cref="SequenceBeginStatus.Acquired"/>: the slot holds epoch, number, fingerprint and a fresh token.</item>
    /// </list>
    /// </returns>
    ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Extends the lease of the stream's in-flight slot to now + <paramref name="lease"/>, only if <paramref name="fencingToken"/> owns a live slot.</summary>
    /// <returns><see langword="true"/> when extended; <see langword="false"/> when the caller no longer owns the slot.</returns>
    ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Applies the slot's number, only if <paramref name="fencingToken"/> owns a live slot: <c>last</c> becomes the
    /// slot's number (and the stream's epoch the slot's epoch, clearing the window, when it is newer), the response
    /// and its fingerprint are kept in the window, numbers at or below <c>last - window</c> leave it, the slot is
    /// freed, and the stream expires <paramref name="retention"/> after this call.
    /// </summary>
    /// <returns><see langword="true"/> when applied; <see langword="false"/> when the caller no longer owns the slot (nothing is written).</returns>
    ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>Frees the stream's in-flight slot without applying its number, only if <paramref name="fencingToken"/> owns a live slot.</summary>
    /// <returns><see langword="true"/> when freed; <see langword="false"/> when the caller no longer owns the slot (nothing is changed).</returns>
    ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken);
}
