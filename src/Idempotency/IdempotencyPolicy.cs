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
    /// Decides whether a response status is stored. When <see langword="null"/>, 2xx, 3xx and 4xx are stored except
    /// 408, 409, 425 and 429 (and 5xx when <see cref="StoreServerErrors"/> is set); everything else releases the record.
    /// </summary>
    public Func<int, bool>? IsStatusCodeStorable { get; set; }

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
    /// Response headers that are never stored or replayed, in addition to <c>Set-Cookie</c>, hop-by-hop headers and
    /// <c>Date</c>, which never are. Compared case-insensitively.
    /// </summary>
    public ISet<string> ExcludedResponseHeaders { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Resolves the scope that records are kept under, so two principals never see each other's records. When
    /// <see langword="null"/>, <see cref="IdempotencyOptions.ScopeResolver"/> applies.
    /// </summary>
    public Func<HttpContext, string>? ScopeResolver { get; set; }

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
    public Func<HttpContext, string?>? SequenceStreamResolver { get; set; }

    /// <summary>How many of the most recently applied numbers keep their response for replay.</summary>
    /// <value>Defaults to 16. A retry of an older number gets <c>409 sequence-already-applied</c>; it is never run again.</value>
    public int SequenceWindow { get; set; } = 16;

    /// <summary>
    /// How long a request whose number arrives early (a gap before it) is held for the missing numbers to arrive
    /// before it is answered <c>409 sequence-gap</c>.
    /// </summary>
    /// <value>Defaults to <see cref="TimeSpan.Zero"/>: a gap is answered at once.</value>
    public TimeSpan ReorderWait { get; set; } = TimeSpan.Zero;

    /// <summary>How long a stream's state (epoch, last applied number, window) is kept after its last applied request.</summary>
    /// <value>Defaults to 30 days. A stream idle for longer starts over at number 1.</value>
    public TimeSpan StreamRetention { get; set; } = TimeSpan.FromDays(30);
}
