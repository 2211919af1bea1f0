using System.IO.Compression;
using System.Security.Claims;
using Microsoft.AspNetCore.DataProtection;
using Idempotency.Policies;

namespace Idempotency;

/// <summary>Options for the idempotency middleware: header names, policies and how errors are reported.</summary>
public sealed class IdempotencyOptions
{
    /// <summary>The name of the default policy, used by <see cref="IdempotentAttribute"/> without a policy name.</summary>
    public const string DefaultPolicyName = "__Default";

    private readonly Dictionary<string, IdempotencyPolicy> _policies = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The request header that carries the idempotency key, unless a policy names another header or a key resolver.</summary>
    /// <value>Defaults to <c>Idempotency-Key</c>.</value>
    public string KeyHeaderName { get; set; } = "Idempotency-Key";

    /// <summary>The request header that carries the sequence number.</summary>
    /// <value>Defaults to <c>Sequence-Number</c>.</value>
    public string SequenceNumberHeaderName { get; set; } = "Sequence-Number";

    /// <summary>The request header that names the stream a sequence number belongs to.</summary>
    /// <value>Defaults to <c>Sequence-Stream</c>.</value>
    public string SequenceStreamHeaderName { get; set; } = "Sequence-Stream";

    /// <summary>The request header that carries the client's epoch (incarnation).</summary>
    /// <value>Defaults to <c>Sequence-Epoch</c>.</value>
    public string SequenceEpochHeaderName { get; set; } = "Sequence-Epoch";

    /// <summary>The longest accepted key, in characters after unquoting.</summary>
    /// <value>Defaults to 255.</value>
    public int MaxKeyLength { get; set; } = 255;

    /// <summary>
    /// How many bytes of a request body are buffered in memory (pooled) before the rest goes to a temporary file. A body
    /// that is fingerprinted, or read by a key resolver, is read before the handler runs and must be readable again by
    /// the handler, so it is buffered; below this size, buffering costs a copy, above it a file written and deleted for
    /// every such request, replays included.
    /// </summary>
    /// <value>
    /// Defaults to 65,536 (64 KiB), ASP.NET Core's default for buffering form bodies; ASP.NET Core's own default for
    /// request buffering, 30 KiB, made a 64 KiB request about twenty times costlier than a 16 KiB one. Between 1 and
    /// 64 MiB. It bounds the memory one request holds: each concurrent request with a body holds this much, or its
    /// <c>Content-Length</c> when that is less.
    /// </value>
    public int RequestBodyBufferThreshold { get; set; } = 64 * 1024;

    /// <summary>The response header set on replayed responses.</summary>
    /// <value>Defaults to <c>Idempotent-Replayed</c> (with the value <c>true</c>).</value>
    public string ReplayedHeaderName { get; set; } = "Idempotent-Replayed";

    /// <summary>The prefix of the <c>type</c> of every problem response; the problem name follows it.</summary>
    /// <value>Defaults to <c>urn:idempotency:</c>, e.g. <c>urn:idempotency:idempotency-key-reused</c>.</value>
    public string ProblemTypeBaseUri { get; set; } = "urn:idempotency:";

    /// <summary>The <c>Retry-After</c> sent with <c>409 idempotency-request-in-flight</c>.</summary>
    /// <value>Defaults to 1 second. Sent in whole seconds, at least 1.</value>
    public TimeSpan InFlightRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The <c>Retry-After</c> sent with <c>503 idempotency-store-unavailable</c>.</summary>
    /// <value>Defaults to 2 seconds. Sent in whole seconds, at least 1.</value>
    public TimeSpan StoreUnavailableRetryAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the middleware waits for a store operation before it treats the store as unavailable.</summary>
    /// <value>Defaults to 5 seconds.</value>
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The policy used by endpoints that opt in without naming a policy.</summary>
    public IdempotencyPolicy DefaultPolicy { get; } = new();

    /// <summary>
    /// Sizes the local replay cache, which keeps completed records inside this instance so retries are replayed without
    /// a store round trip. Policies opt in with <see cref="IdempotencyPolicy.UseLocalReplayCache"/>.
    /// </summary>
    /// <value>Read-only: configure it in place. Its defaults matter only once a policy opts in.</value>
    public LocalReplayCacheOptions LocalReplayCache { get; } = new();

    /// <summary>
    /// Whether <see cref="DefaultPolicy"/> applies to every POST and PATCH endpoint that has no idempotency metadata.
    /// Endpoints marked with <see cref="DisableIdempotencyAttribute"/> stay excluded.
    /// </summary>
    /// <value>Defaults to <see langword="false"/>: only endpoints that opt in take part.</value>
    public bool ApplyDefaultPolicyToUnsafeMethods { get; set; }

    /// <summary>
    /// Resolves the scope records are kept under, so two principals never see each other's records. A policy can
    /// override it.
    /// </summary>
    /// <value>
    /// Defaults to the authenticated principal: its <c>sub</c> claim, else its <see cref="ClaimTypes.NameIdentifier"/>
    /// claim, else its name claim (<see cref="ClaimTypes.Name"/>, as certificate and Negotiate authentication set), each
    /// with the claim's issuer and kept apart by kind; <c>anonymous</c> for unauthenticated callers only. An authenticated
    /// principal with none of these claims is a configuration error (an <see cref="InvalidOperationException"/> on its first request),
    /// never a shared scope. A resolver set here must return a non-empty string that identifies the caller (for example
    /// tenant and user); its scopes are kept apart from the default's, so a custom <c>anonymous</c> is not the anonymous
    /// scope. Returning <see langword="null"/> or an empty string is a configuration error. The default completes
    /// synchronously; a resolver that needs I/O (a tenant lookup, say) may complete asynchronously.
    /// </value>
    public Func<ScopeResolverArguments, ValueTask<string>> ScopeResolver { get; set; } = PrincipalScope.Resolver;

    /// <summary>Called after a retry has been answered with the recorded response.</summary>
    /// <value>
    /// Defaults to <see langword="null"/>. Like every hook, it is awaited before the request completes; an exception
    /// it throws is logged and changes neither the response nor the record.
    /// </value>
    public Func<OnReplayedArguments, ValueTask>? OnReplayed { get; set; }

    /// <summary>
    /// Called after a request has been answered with a problem response (a missing or reused key, a request in
    /// flight, a sequence gap, an unavailable store, ...) instead of its handler's response.
    /// </summary>
    /// <value>Defaults to <see langword="null"/>. An exception it throws is logged and changes neither the response nor the record.</value>
    public Func<OnRejectedArguments, ValueTask>? OnRejected { get; set; }

    /// <summary>
    /// Called when a running handler's record was taken over by another request: a lease renewal was refused, or the
    /// completion was fenced off. The handler's response is then not recorded, and the operation may have run twice.
    /// </summary>
    /// <value>
    /// Defaults to <see langword="null"/>. Called at most once per request, after the handler has finished, never
    /// alongside it. Like every hook it is awaited before the request completes, so it should be quick (hand slow work,
    /// such as alerting, to a queue). An exception it throws is logged and changes neither the response nor the record.
    /// </value>
    public Func<OnLeaseLostArguments, ValueTask>? OnLeaseLost { get; set; }

    /// <summary>Called before a handler runs unprotected because the store is unavailable and the policy fails open.</summary>
    /// <value>Defaults to <see langword="null"/>. An exception it throws is logged; the handler still runs.</value>
    public Func<OnFailOpenArguments, ValueTask>? OnFailOpen { get; set; }

    /// <summary>
    /// Protects (encrypts and authenticates) response snapshots in stores that keep them as bytes, such as Redis and the
    /// EF Core store, when <see cref="ProtectStoredResponses"/> is set, and reads snapshots protected earlier whether it
    /// is set or not. Usually set by <c>ProtectStoredResponses()</c> on the builder from the application's ASP.NET Core
    /// Data Protection; every instance must then share one key ring and application name.
    /// </summary>
    /// <value>
    /// Defaults to <see langword="null"/>: snapshots are stored as they are, and a protected one is unreadable. The
    /// in-memory store keeps snapshots as objects inside the process and never protects them.
    /// </value>
    public IDataProtector? StoredResponseProtector { get; set; }

    /// <summary>
    /// Whether stores protect the snapshots they write with <see cref="StoredResponseProtector"/>. Switching it on or off
    /// in a running system is safe: snapshots of both kinds are read as long as <see cref="StoredResponseProtector"/> is
    /// set. <see cref="IdempotencyPolicy.MaxSnapshotBytes"/> limits the unprotected response; a protected snapshot is
    /// larger by a fixed overhead (at most 101 bytes with Data Protection's default algorithms), whatever its size.
    /// </summary>
    /// <value>Defaults to <see langword="false"/>. Set without <see cref="StoredResponseProtector"/>, the application fails at start-up.</value>
    public bool ProtectStoredResponses { get; set; }

    /// <summary>
    /// Whether stores that keep snapshots as bytes (Redis, the EF Core store) compress a response snapshot with Brotli
    /// when its body is at least <see cref="StoredResponseCompressionThreshold"/> bytes, before protecting it. A body sent
    /// with a <c>Content-Encoding</c> is stored as it is, and so is a snapshot that compression would not make smaller.
    /// A replay is byte for byte the response that was stored. Snapshots of both kinds are read whatever this is set to,
    /// so it can be switched on or off in a running system once every instance runs a version that reads compressed
    /// snapshots.
    /// </summary>
    /// <value>
    /// Defaults to <see langword="false"/>. The in-memory store keeps snapshots as objects inside the process and never
    /// compresses them.
    /// </value>
    public bool CompressStoredResponses { get; set; }

    /// <summary>The smallest response body, in bytes, that <see cref="CompressStoredResponses"/> compresses.</summary>
    /// <value>Defaults to 1024 (1 KiB): below it, compression saves too few bytes to pay for its CPU. Between 0 and 64 MiB.</value>
    public int StoredResponseCompressionThreshold { get; set; } = 1024;

    /// <summary>How hard <see cref="CompressStoredResponses"/> compresses: CPU on every first execution against bytes per record.</summary>
    /// <value>
    /// Defaults to <see cref="CompressionLevel.Fastest"/> (Brotli quality 1, as ASP.NET Core's response compression).
    /// <see cref="CompressionLevel.Optimal"/> is quality 4, <see cref="CompressionLevel.SmallestSize"/> quality 11 (far
    /// slower), <see cref="CompressionLevel.NoCompression"/> quality 0.
    /// </value>
    public CompressionLevel StoredResponseCompressionLevel { get; set; } = CompressionLevel.Fastest;

    /// <summary>Set when <c>ProtectStoredResponses()</c> was called but no <c>IDataProtectionProvider</c> is registered, so start-up can say so.</summary>
    internal bool DataProtectionMissing { get; set; }

    /// <summary>
    /// The named policies added with <see cref="AddPolicy(string, Action{IdempotencyPolicy})"/>, by name (compared
    /// case-insensitively); <see cref="DefaultPolicy"/> is not among them. Internal: tools that describe endpoints
    /// (the OpenAPI transformer) ask the middleware's policy resolver instead of reading policies themselves.
    /// </summary>
    internal IReadOnlyDictionary<string, IdempotencyPolicy> Policies => _policies;

    /// <summary>
    /// The largest <see cref="IdempotencyPolicy.MaxSnapshotBytes"/> of <see cref="DefaultPolicy"/> and the named
    /// policies: no stored body is larger, which bounds what reading a compressed snapshot may allocate.
    /// </summary>
    internal int LargestMaxSnapshotBytes
    {
        get
        {
            var largest = DefaultPolicy.MaxSnapshotBytes;
            foreach (var policy in _policies.Values)
            {
                largest = Math.Max(largest, policy.MaxSnapshotBytes);
            }

            return largest;
        }
    }

    /// <summary>Adds a named policy, configured from the built-in defaults (not from <see cref="DefaultPolicy"/>).</summary>
    /// <param name="name">The policy name endpoints refer to; compared case-insensitively.</param>
    /// <param name="configure">Configures the policy.</param>
    /// <exception cref="ArgumentException">A policy with that name exists already.</exception>
    public void AddPolicy(string name, Action<IdempotencyPolicy> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        if (_policies.ContainsKey(name) || string.Equals(name, DefaultPolicyName, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"An idempotency policy named '{name}' has already been added.", nameof(name));
        }

        var policy = new IdempotencyPolicy();
        configure(policy);
        _policies.Add(name, policy);
    }
}
