namespace Idempotency.Storage;

/// <summary>Options for the in-memory store, the default store for a single application instance.</summary>
public sealed class InMemoryIdempotencyStoreOptions
{
    /// <summary>The least <see cref="SizeLimitBytes"/> and <see cref="MaxBytesPerScope"/> may be: room for a record or two.</summary>
    internal const long MinimumBytes = 1024;

    /// <summary>
    /// The most memory, in bytes, that stored records and sequence streams may take. A record counts what it takes on
    /// the managed heap of a 64-bit process: its objects, key, fingerprint, body and header strings and its slots in
    /// the store's tables (about 800 bytes for a small JSON response with two headers), never less, so the limit
    /// bounds the records' memory. When a new request needs room, expired records and streams go first;
    /// records and streams within their retention are never dropped (unless <see cref="EvictLiveRecordsWhenFull"/> is
    /// set), so when nothing has expired the new request gets <c>503 idempotency-store-full</c> with <c>Retry-After</c>.
    /// A response that does not fit is kept without its body (a retry gets <c>409 idempotency-response-not-replayable</c>
    /// with the original status): the record itself is always kept.
    /// </summary>
    /// <value>Defaults to 256 MiB.</value>
    public long SizeLimitBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// The most bytes the records and streams of one scope (one principal, or whatever the scope resolver names) may
    /// take, so one caller cannot fill the store for everyone. A new request of a scope at its quota gets
    /// <c>429 idempotency-quota-exceeded</c> with <c>Retry-After</c>; its existing records keep replaying, and room
    /// comes back as they expire. All anonymous callers share one scope and so one quota: give them scopes of their own
    /// with a <see cref="IdempotencyOptions.ScopeResolver"/> (docs/configuration.md shows one by API key or client
    /// address).
    /// </summary>
    /// <value>
    /// Defaults to <see langword="null"/>: a quarter of <see cref="SizeLimitBytes"/> (64 MiB of the default 256 MiB),
    /// and at least 1024. Set it to <see cref="SizeLimitBytes"/> to let one scope use the whole store (an application
    /// with a single caller); at least 1024 and at most <see cref="SizeLimitBytes"/>.
    /// </value>
    public long? MaxBytesPerScope { get; set; }

    /// <summary>
    /// Whether completed records still within their retention are evicted, oldest completion first, to make room for
    /// new requests, instead of refusing the new requests with <c>503 idempotency-store-full</c> (or
    /// <c>429 idempotency-quota-exceeded</c>). A full store evicts the oldest records of any scope; a scope at its
    /// quota (<see cref="MaxBytesPerScope"/>) evicts only its own.
    /// </summary>
    /// <remarks>
    /// This trades correctness for availability: a retry of an evicted operation finds no record and <b>runs the
    /// operation again</b> (a second charge, a second order), exactly what idempotency keys exist to prevent. Choose it
    /// only for operations that are safe to repeat, or when the application has a second guard (such as a unique index
    /// on the key). Every eviction is counted in the <c>idempotency.store.evictions</c> metric. In-flight records and
    /// sequence streams are never evicted, so a store or scope full of them still refuses new requests.
    /// </remarks>
    /// <value>Defaults to <see langword="false"/>: records within their retention are never dropped.</value>
    public bool EvictLiveRecordsWhenFull { get; set; }

    /// <summary>How often expired records are swept out.</summary>
    /// <value>Defaults to 1 minute. Expired records are also ignored on access, so this only bounds memory.</value>
    public TimeSpan ExpirationScanInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// What the application does when it starts outside the <c>Development</c> environment on the in-memory store,
    /// whose records several instances cannot share and a restart forgets.
    /// </summary>
    /// <value>
    /// Defaults to <see cref="InMemoryStoreEnvironmentCheck.Warn"/>: a warning at start-up. Set
    /// <see cref="InMemoryStoreEnvironmentCheck.Refuse"/> to make a deployment that forgot its shared store fail fast, or
    /// <see cref="InMemoryStoreEnvironmentCheck.Off"/> for a service that runs as one instance on purpose.
    /// </value>
    public InMemoryStoreEnvironmentCheck EnvironmentCheck { get; set; } = InMemoryStoreEnvironmentCheck.Warn;

    /// <summary>The per-scope quota in force: <see cref="MaxBytesPerScope"/>, or its default.</summary>
    internal long EffectiveMaxBytesPerScope => MaxBytesPerScope ?? Math.Max(SizeLimitBytes / 4, MinimumBytes);
}
