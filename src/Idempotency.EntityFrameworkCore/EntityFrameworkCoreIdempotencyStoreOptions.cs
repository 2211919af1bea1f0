namespace Idempotency.EntityFrameworkCore;

/// <summary>Options for the Entity Framework Core idempotency store.</summary>
public sealed class EntityFrameworkCoreIdempotencyStoreOptions
{
    /// <summary>
    /// How long the purge waits between two rounds. A round deletes expired records and streams (by the database's
    /// clock) in batches of <see cref="PurgeBatchSize"/> until a batch comes back short. Expired rows never answer a
    /// request whether they were purged yet or not: the purge only frees space.
    /// </summary>
    /// <value>Defaults to 1 minute. Must be positive.</value>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The most rows one purge statement deletes, so that no statement holds locks on many rows or runs long enough
    /// to hold up requests.
    /// </summary>
    /// <value>Defaults to 1000. Must be between 1 and 100000.</value>
    public int PurgeBatchSize { get; set; } = 1000;
}
