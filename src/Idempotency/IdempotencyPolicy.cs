using Microsoft.AspNetCore.Http;

namespace Idempotency;

/// <summary>
/// How one group of endpoints takes part in idempotency: whether a key is required, how long records live, which
/// responses are stored and how conflicts are answered. Configure the default policy with
/// <see cref="IdempotencyOptions.DefaultPolicy"/> and named ones with <see cref="IdempotencyOptions.AddPolicy(string, Action{IdempotencyPolicy})"/>.
/// </summary>
public sealed class IdempotencyPolicy
{
    /// <summary>Whether requests must carry an idempotency key.</summary>
    /// <value>Defaults to <see cref="KeyRequirement.Required"/>. With <see cref="KeyRequirement.Optional"/>, requests without a key run unprotected and are never recorded.</value>
    public KeyRequirement KeyRequirement { get; set; } = KeyRequirement.Required;

    /// <summary>The request header that carries the idempotency key for this policy.</summary>
    /// <value>
    /// Defaults to <see langword="null"/>: <see cref="IdempotencyOptions.KeyHeaderName"/>. Ignored when
    /// <see cref="KeyResolver"/> is set. Problem responses about a missing or invalid key name this header.
    /// </value>
    public string? KeyHeaderName { get; set; }

    /// <summary>
    /// Takes the idempotency key from somewhere other than a header: a route value, a member of the JSON body, a
    /// webhook's delivery id. <see cref="IdempotencyKeyResolvers"/> has the common ones.
    /// </summary>
    /// <value>
    /// Defaults to <see langword="null"/>: the key comes from the <see cref="KeyHeaderName"/> header. A resolved key is
    /// taken as it is, never unquoted, and must be 1 to <see cref="IdempotencyOptions.MaxKeyLength"/> characters with
    /// no white space, control character or unpaired surrogate (otherwise <c>400 idempotency-key-invalid</c>);
    /// <see cref="IdempotencyKeyResolvers.FromHeader"/> reads a header, so its value is parsed as a header's is.
    /// <see langword="null"/> or an empty string means the request carries no key: <c>400 idempotency-key-missing</c>
    /// when <see cref="KeyRequirement"/> is required, else the request runs unprotected. A resolver may throw
    /// <see cref="BadHttpRequestException"/> to refuse the request (<c>request-body-invalid</c> with the exception's status).
    /// A resolved key names the operation within the caller's scope and the request's endpoint and method (so
    /// <c>PUT /orders/1</c> and <c>PUT /invoices/1</c> are two operations); a header key, within the caller's scope.
    /// Take it only from what the client controls per operation, never from something two different operations share.
    /// </value>
    public Func<KeyResolverArguments, ValueTask<string?>>? KeyResolver { get; set; }

    /// <summary>How long an in-flight record stays owned by the executing request before another request may take over.</summary>
    /// <value>Defaults to 30 seconds. The lease is renewed every third of this time while the handler runs.</value>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a completed response is kept for replay.</summary>
    /// <value>Defaults to 24 hours.</value>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The largest response body that is stored for replay, in bytes.</summary>
    /// <value>
    /// Defaults to 1 MiB. A larger response is streamed to the client untouched and recorded without its body: a
    /// retry gets <c>409 idempotency-response-not-replayable</c> and the operation is never run twice.
    /// </value>
    public int MaxSnapshotBytes { get; set; } = 1024 * 1024;

    /// <summary>Whether 5xx responses are stored and replayed (as Stripe does) instead of releasing the record.</summary>
    /// <value>Defaults to <see langword="false"/>: a server error releases the record and a retry executes again.</value>
    public bool StoreServerErrors { get; set; }

    /// <summary>
    /// Decides whether a handler's response is stored for replay; a response that is not stored releases the record
    /// and a retry executes again. When <see langword="null"/>, 2xx, 3xx and 4xx are stored except 408, 409, 425 and
    /// 429 (and 5xx when <see cref="StoreServerErrors"/> is set).
    /// </summary>
    /// <value>
    /// Defaults to <see langword="null"/>. Called after the response has been sent, before it is recorded, while the
    /// record's lease is still renewed (a slow predicate never lets a duplicate run the handler again). A predicate that
    /// throws, or has not answered within <see cref="IdempotencyOptions.StoreTimeout"/>, is logged and the built-in rule decides.
    /// </value>
    public Func<StoreResponsePredicateArguments, ValueTask<bool>>? ShouldStoreResponse { get; set; }

    /// <summary>
    /// Whether completed records of this policy are kept in the local replay cache
    /// (<see cref="IdempotencyOptions.LocalReplayCache"/>), so that retries reaching this instance again are replayed
    /// (or answered <c>422 idempotency-key-reused</c>) without a store round trip. Worth it in front of a remote store
    /// (Redis, a database) for operations whose clients retry in bursts; over the in-memory store it is allowed but saves
    /// nothing.
    /// </summary>
    /// <value>
    /// Defaults to <see langword="false"/>. Applies to key-mode records only: numbered requests of a sequence stream
    /// always ask the store (a policy that requires sequence numbers may not set it). The trade-off: an entry answers
    /// for up to <see cref="LocalReplayCacheOptions.Expiration"/> (10 seconds by default) after the store answered with
    /// it, so a record deleted on another instance, or whose retention ended, may be replayed here for that long; a
    /// cached replay also answers while the store is unreachable. Responses are held in this process's memory
    /// unprotected, even with <see cref="IdempotencyOptions.ProtectStoredResponses"/>.
    /// </value>
    public bool UseLocalReplayCache { get; set; }

    /// <summary>What a request gets while another request with the same key is still executing.</summary>
    /// <value>Defaults to <see cref="ConcurrentRequestHandling.Reject"/>: <c>409 idempotency-request-in-flight</c> with <c>Retry-After</c>.</value>
    public ConcurrentRequestHandling ConcurrentRequests { get; set; } = ConcurrentRequestHandling.Reject;

    /// <summary>With <see cref="ConcurrentRequestHandling.Wait"/>, how long a duplicate waits for the original to complete before it is rejected.</summary>
    /// <value>Defaults to 10 seconds.</value>
    public TimeSpan ConcurrentWaitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether the handler runs unprotected when the store is unreachable. Off by default (fail closed:
    /// <c>503 idempotency-store-unavailable</c>); when on, every such request is logged and counted.
    /// </summary>
    public bool FailOpen { get; set; }

    /// <summary>
    /// Whether the handler of a recorded request sees <see cref="HttpContext.RequestAborted"/> fire when the client
    /// disconnects, as it would without this middleware.
    /// </summary>
    /// <value>
    /// Defaults to <see langword="false"/>: once the handler has started, its <c>RequestAborted</c> token does not fire
    /// on a disconnect, the handler runs to its end and its response is recorded, so the client's retry gets the
    /// replay and the operation never runs twice. Set it only for handlers that undo all their effects when cancelled
    /// (one database transaction, say): a handler that then throws releases the record and a retry runs it again.
    /// </value>
    public bool CancelHandlerOnDisconnect { get; set; }

    /// <summary>Which parts of the request make up its fingerprint.</summary>
    /// <value>Defaults to <see cref="FingerprintComponents.All"/>.</value>
    public FingerprintComponents FingerprintComponents { get; set; } = FingerprintComponents.All;

    /// <summary>
    /// Whether JSON request bodies are fingerprinted in canonical form, so that property order and whitespace do
    /// not change the fingerprint. Applies to bodies whose <c>Content-Type</c> is JSON; others are hashed as bytes.
    /// </summary>
    /// <value>Defaults to <see langword="false"/>: bodies are hashed byte for byte, streamed.</value>
    public bool CanonicalJsonFingerprint { get; set; }

    /// <summary>
    /// With <see cref="CanonicalJsonFingerprint"/>, the largest JSON body, in bytes, that is read into memory and
    /// fingerprinted in canonical form. A longer body is fingerprinted byte for byte, streamed, as if canonical mode
    /// were off; it is still processed. Which form a body gets depends only on its length.
    /// </summary>
    /// <value>
    /// Defaults to 1 MiB. At most 16 MiB: the canonical form needs the body and its parsed index in memory at once
    /// (up to about seven times the body), so this bounds what one request can make the server hold.
    /// </value>
    public int MaxCanonicalJsonBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Members of a JSON body left out of its fingerprint, as JSON Pointers (RFC 6901) such as <c>/sentAt</c> or
    /// <c>/meta/timestamp</c>, so that a retry whose client regenerated them is replayed instead of answered
    /// <c>422 idempotency-key-reused</c>. Requires <see cref="CanonicalJsonFingerprint"/>.
    /// </summary>
    /// <value>
    /// Empty by default. Pointer tokens match member names exactly (case-sensitively) and array elements by index. They
    /// apply only where the body is fingerprinted in canonical form: a body that is not JSON, not valid JSON, or longer
    /// than <see cref="MaxCanonicalJsonBytes"/> is hashed byte for byte, so a retry that changes an excluded member is
    /// then answered 422 (never replayed by mistake). Two requests with one key that differ only in excluded members
    /// are one operation: the second is answered with the first one's response, so exclude only members that do not
    /// change what the operation does (timestamps, trace ids), never an amount or a recipient.
    /// </value>
    public ISet<string> FingerprintExcludedJsonMembers { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Response headers that are never stored or replayed, in addition to <c>Set-Cookie</c>, hop-by-hop headers and
    /// <c>Date</c>, which never are. Compared case-insensitively.
    /// </summary>
    public ISet<string> ExcludedResponseHeaders { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Resolves the scope that records are kept under, so two principals never see each other's records. When
    /// <see langword="null"/>, <see cref="IdempotencyOptions.ScopeResolver"/> applies.
    /// </summary>
    public Func<ScopeResolverArguments, ValueTask<string>>? ScopeResolver { get; set; }

    /// <summary>Whether requests carry per-stream sequence numbers that must be applied in order, exactly once.</summary>
    /// <value>
    /// Defaults to <see cref="SequenceRequirement.Off"/>. When a request carries both a sequence number and an
    /// idempotency key, the sequence number governs deduplication and the key becomes part of the fingerprint; a
    /// request with a sequence number needs no key even when <see cref="KeyRequirement"/> is required.
    /// </value>
    public SequenceRequirement SequenceRequirement { get; set; } = SequenceRequirement.Off;

    /// <summary>
    /// Names the stream a numbered request belongs to, within the caller's scope. Returning <see langword="null"/>
    /// falls back to the default: the <c>Sequence-Stream</c> header, or <c>default</c> when it is absent.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>. An application whose streams are resources (an account) resolves them from the route.</value>
    public Func<SequenceStreamResolverArguments, ValueTask<string?>>? SequenceStreamResolver { get; set; }

    /// <summary>How many of the most recently applied numbers keep their response for replay.</summary>
    /// <value>Defaults to 16. A retry of an older number gets <c>409 sequence-already-applied</c>; it is never run again.</value>
    public int SequenceWindow { get; set; } = 16;

    /// <summary>
    /// How long a request whose number arrives early (a gap before it) is held for the missing numbers to arrive
    /// before it is answered <c>409 sequence-gap</c>.
    /// </summary>
    /// <value>Defaults to <see cref="TimeSpan.Zero"/>: a gap is answered at once.</value>
    public TimeSpan ReorderWait { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Whether the record commits in the same database transaction as the handler's own writes (transactional mode).
    /// The middleware opens a transaction on the request's unit of work before the handler runs, holds the response,
    /// writes the completed record inside the transaction, commits, and only then sends the response: the business data
    /// and the record are kept together or not at all. Needs a store that implements
    /// <see cref="Storage.IIdempotencyTransactionalStore"/> (checked at start-up).
    /// </summary>
    /// <value>
    /// Defaults to <see langword="false"/>. In this mode a response that is not kept (see <see cref="ShouldStoreResponse"/>;
    /// by default a 5xx) rolls the handler's writes back, a response larger than <see cref="MaxSnapshotBytes"/> rolls
    /// everything back and is answered 500, and a handler must not open a transaction of its own (savepoints are fine).
    /// <see cref="IIdempotentExecutor"/> refuses a transactional policy: a worker operation has no request whose
    /// transaction the record could join.
    /// See docs/relational-store.md.
    /// </value>
    public bool Transactional { get; set; }

    /// <summary>How long a stream's state (epoch, last applied number, window) is kept after its last applied request.</summary>
    /// <value>Defaults to 30 days. A stream idle for longer starts over at number 1.</value>
    public TimeSpan StreamRetention { get; set; } = TimeSpan.FromDays(30);
}
