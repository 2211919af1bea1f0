namespace Idempotency.Storage;

/// <summary>
/// The optional capability of a store to keep sequence streams (policies whose
/// <see cref="IdempotencyPolicy.SequenceRequirement"/> is not <see cref="SequenceRequirement.Off"/>): per client, the
/// last applied sequence number, a window of recent responses and one in-flight slot fenced like a record.
/// </summary>
/// <remarks>
/// <para>
/// A store that keeps only keyed records implements <see cref="IIdempotencyStore"/> alone; the application then fails
/// at start-up when a policy needs sequences. Stream keys follow the same rules as record keys (opaque, at most 64
/// ASCII characters, the first 16 shared by every key of one scope) and are a namespace apart from them: a stream and
/// a record with the same key never meet.
/// </para>
/// <para>
/// Argument rules, the same in every store: <c>epoch</c> is 0 or more, a sequence number 1 or more, <c>window</c> 1 or
/// more, and every lease and retention positive; anything else throws <see cref="ArgumentOutOfRangeException"/> before
/// the store is touched. A stream lives while its retention (set by its last complete) runs or its slot's lease does,
/// whichever ends later; once neither does, it is missing (epoch 0, <c>last</c> 0), however long a released or
/// shortened lease would have run. Fencing tokens never repeat for a stream, even after it expired and was created
/// again. See docs/contract.md for the behaviour clients see and docs/custom-store.md for writing a store.
/// </para>
/// </remarks>
public interface IIdempotencySequenceStore : IIdempotencyStore
{
    /// <summary>
    /// Atomically decides what a numbered request of a stream gets and, when its number is next and the
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
