using Idempotency.Fingerprinting;
using Idempotency.Keys;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Policies;

/// <summary>
/// An <see cref="IdempotencyPolicy"/> frozen at start-up with its derived values, so the request path reads fields
/// instead of re-deriving defaults.
/// </summary>
internal sealed class ResolvedPolicy
{
    // Null for the default (PrincipalScope), whose scopes come tagged; a custom resolver's scopes are tagged here.
    private readonly Func<ScopeResolverArguments, ValueTask<string>>? _customScopeResolver;
    private readonly Func<StoreResponsePredicateArguments, ValueTask<bool>>? _shouldStoreResponse;
    private readonly Func<SequenceStreamResolverArguments, ValueTask<string?>>? _sequenceStreamResolver;

    public ResolvedPolicy(string name, IdempotencyPolicy policy, IdempotencyOptions options)
    {
        Name = name;
        KeyRequired = policy.KeyRequirement == KeyRequirement.Required;
        Lease = policy.Lease;
        RenewalInterval = policy.Lease / 3;
        Retention = policy.Retention;
        MaxSnapshotBytes = policy.MaxSnapshotBytes;
        StoreServerErrors = policy.StoreServerErrors;
        _shouldStoreResponse = policy.ShouldStoreResponse;
        Key = new KeySource(name, policy, options);
        WaitForConcurrent = policy.ConcurrentRequests == ConcurrentRequestHandling.Wait;
        ConcurrentWaitTimeout = policy.ConcurrentWaitTimeout;
        FailOpen = policy.FailOpen;
        CancelHandlerOnDisconnect = policy.CancelHandlerOnDisconnect;
        FingerprintComponents = policy.FingerprintComponents;
        CanonicalJsonFingerprint = policy.CanonicalJsonFingerprint;
        MaxCanonicalJsonBytes = policy.MaxCanonicalJsonBytes;
        FingerprintExclusions = JsonMemberExclusions.Create(policy.FingerprintExcludedJsonMembers);
        ExcludedResponseHeaders = new HashSet<string>(policy.ExcludedResponseHeaders, StringComparer.OrdinalIgnoreCase);
        var scopeResolver = policy.ScopeResolver ?? options.ScopeResolver;
        _customScopeResolver = ReferenceEquals(scopeResolver, PrincipalScope.Resolver) ? null : scopeResolver;
        Sequence = policy.SequenceRequirement;
        _sequenceStreamResolver = policy.SequenceStreamResolver;
        SequenceWindow = policy.SequenceWindow;
        ReorderWait = policy.ReorderWait;
        StreamRetention = policy.StreamRetention;
        Transactional = policy.Transactional;
        UseLocalReplayCache = policy.UseLocalReplayCache;
    }

    /// <summary>Whether key-mode records of this policy go through the local replay cache (<see cref="IdempotencyPolicy.UseLocalReplayCache"/>).</summary>
    public bool UseLocalReplayCache { get; }

    /// <summary>Whether the record commits in the handler's own database transaction (<see cref="IdempotencyPolicy.Transactional"/>).</summary>
    public bool Transactional { get; }

    public SequenceRequirement Sequence { get; }

    public int SequenceWindow { get; }

    public TimeSpan ReorderWait { get; }

    public TimeSpan StreamRetention { get; }

    public string Name { get; }

    public bool KeyRequired { get; }

    public TimeSpan Lease { get; }

    public TimeSpan RenewalInterval { get; }

    public TimeSpan Retention { get; }

    public int MaxSnapshotBytes { get; }

    public bool StoreServerErrors { get; }

    public bool WaitForConcurrent { get; }

    public TimeSpan ConcurrentWaitTimeout { get; }

    public bool FailOpen { get; }

    public bool CancelHandlerOnDisconnect { get; }

    public FingerprintComponents FingerprintComponents { get; }

    public bool CanonicalJsonFingerprint { get; }

    public int MaxCanonicalJsonBytes { get; }

    /// <summary>The JSON members left out of a canonical fingerprint, or <see langword="null"/> when there are none.</summary>
    public JsonMemberExclusions? FingerprintExclusions { get; }

    /// <summary>Where requests of this policy carry their idempotency key.</summary>
    public KeySource Key { get; }

    public ISet<string> ExcludedResponseHeaders { get; }

    /// <summary>
    /// The scope of this request's records and streams, tagged with its kind. The default resolver completes
    /// synchronously without allocating a task.
    /// </summary>
    /// <exception cref="InvalidOperationException">The resolver cannot name the caller: a configuration error.</exception>
    public ValueTask<string> ResolveScopeAsync(HttpContext context)
    {
        if (_customScopeResolver is null)
        {
            return new ValueTask<string>(PrincipalScope.Resolve(context));
        }

        var pending = _customScopeResolver(new ScopeResolverArguments(context, Name));
        return pending.IsCompletedSuccessfully ? new ValueTask<string>(TagCustom(pending.Result)) : AwaitCustomScopeAsync(pending);
    }

    /// <summary>Whether the application names streams itself (then the stream header is not read).</summary>
    public bool HasSequenceStreamResolver => _sequenceStreamResolver is not null;

    /// <summary>
    /// The stream the application's resolver names for a numbered request, or <see langword="null"/> when the policy has
    /// no resolver or the resolver names none (then the stream header applies).
    /// </summary>
    public ValueTask<string?> ResolveSequenceStreamAsync(HttpContext context)
        => _sequenceStreamResolver is null ? default : _sequenceStreamResolver(new SequenceStreamResolverArguments(context, Name));

    /// <summary>
    /// Whether a response with this status completes the record. Besides the 2xx and 4xx the contract names, 3xx are
    /// stored: a redirect (such as 303 after a POST) is the outcome of an operation that ran.
    /// </summary>
    public ValueTask<bool> IsStorableAsync(HttpContext context, int statusCode)
    {
        if (_shouldStoreResponse is not null)
        {
            return _shouldStoreResponse(new StoreResponsePredicateArguments(context, Name, statusCode));
        }

        return new ValueTask<bool>(IsStorableByDefault(statusCode));
    }

    /// <summary>The built-in rule of <see cref="IsStorableAsync"/>, also used when the application's predicate throws.</summary>
    public bool IsStorableByDefault(int statusCode) => statusCode switch
    {
        >= 200 and < 400 => true,
        408 or 409 or 425 or 429 => false,
        >= 400 and < 500 => true,
        >= 500 and < 600 => StoreServerErrors,
        _ => false,
    };

    private async ValueTask<string> AwaitCustomScopeAsync(ValueTask<string> pending)
        => TagCustom(await pending.ConfigureAwait(false));

    private string TagCustom(string? scope)
        => string.IsNullOrEmpty(scope)
            ? throw new InvalidOperationException(
                $"The scope resolver of idempotency policy '{Name}' returned {(scope is null ? "null" : "an empty string")}. " +
                "A scope resolver must name the caller (for example tenant and user); records of callers it cannot tell apart would be shared.")
            : PrincipalScope.Custom(scope);
}
