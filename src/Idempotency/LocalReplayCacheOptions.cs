namespace Idempotency;

/// <summary>
/// Sizes the local replay cache: a bounded cache, inside each application instance, of completed records its store
/// has answered with, so that retries of one operation arriving at the same instance are replayed without a store round
/// trip. Policies opt in with <see cref="IdempotencyPolicy.UseLocalReplayCache"/>; without a policy that does, the
/// cache holds nothing. See docs/local-replay-cache.md.
/// </summary>
/// <remarks>
/// An entry is what the store answered for one record (scope and key, as the store keys it) with the fingerprint of
/// the request that matched it: a retry with another fingerprint gets <c>422 idempotency-key-reused</c> from the
/// cache, as from the store. Only completed records are kept, never in-flight or released ones, and never a numbered
/// request's response (sequence streams change as numbers are applied). An entry answers for at most
/// <see cref="Expiration"/> (and at most its policy's <see cref="IdempotencyPolicy.Retention"/>) after the store
/// answered with it. A record deleted through the admin endpoints of this instance leaves the cache at once; whatever
/// else happens to the record in the store meanwhile (its retention ends, another instance deletes it) reaches this
/// instance when the entry expires, so it may replay a record for up to that long after the store dropped it.
/// </remarks>
public sealed class LocalReplayCacheOptions
{
    /// <summary>
    /// The most memory, in bytes, that cached entries may take: response bodies (the whole buffer they live in) and
    /// headers, plus a fixed overhead per entry. The oldest entries leave first to make room.
    /// </summary>
    /// <value>Defaults to 64 MiB. At least 1024 and at least <see cref="MaximumEntryBytes"/>.</value>
    public long SizeLimit { get; set; } = 64L * 1024 * 1024;

    /// <summary>The most entries the cache holds; the oldest leave first to make room.</summary>
    /// <value>Defaults to 10,000. Between 1 and 10,000,000.</value>
    public int MaximumEntries { get; set; } = 10_000;

    /// <summary>
    /// The largest entry, in bytes as <see cref="SizeLimit"/> counts them, that is cached; a record whose response is
    /// larger is always answered by the store.
    /// </summary>
    /// <value>
    /// Defaults to 1 MiB, the default <see cref="IdempotencyPolicy.MaxSnapshotBytes"/> (an entry counts its headers and
    /// a fixed overhead besides the body). At least 1 and at most <see cref="SizeLimit"/>.
    /// </value>
    public int MaximumEntryBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long an entry answers retries after the store answered with it; the bound on how long this instance may go on
    /// replaying a record that another instance deleted, or whose retention ended, in the store meanwhile.
    /// </summary>
    /// <value>
    /// Defaults to 10 seconds. Positive and at most 1 day. An entry never outlives its policy's
    /// <see cref="IdempotencyPolicy.Retention"/> either: the shorter of the two counts.
    /// </value>
    public TimeSpan Expiration { get; set; } = TimeSpan.FromSeconds(10);
}
