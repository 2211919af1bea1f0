namespace Idempotency.Storage;

/// <summary>Options for the in-memory store, the default store for a single application instance.</summary>
public sealed class InMemoryIdempotencyStoreOptions
{
    /// <summary>
    /// The most memory, in bytes, that stored records may take (response bodies and headers plus a fixed overhead per
    /// record). When full, expired records go first, then the oldest completed ones; in-flight records are never evicted,
    /// and when only they remain, new requests get <c>503 idempotency-store-unavailable</c>.
    /// </summary>
    /// <value>Defaults to 256 MiB.</value>
    public long SizeLimitBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How often expired records are swept out.</summary>
    /// <value>Defaults to 1 minute. Expired records are also ignored on access, so this only bounds memory.</value>
    public TimeSpan ExpirationScanInterval { get; set; } = TimeSpan.FromMinutes(1);
}
