namespace Idempotency.Policies;

/// <summary>
/// An <see cref="IdempotencyPolicy"/> frozen at start-up with its derived values, so the request path reads fields
/// instead of re-deriving defaults.
/// </summary>
internal sealed class ResolvedPolicy
{
    // Null for the default (PrincipalScope), whose scopes come tagged; a custom resolver's scopes are tagged here.
    private readonly Func<Microsoft.AspNetCore.Http.HttpContext, string>? _customScopeResolver;

    public ResolvedPolicy(string name, IdempotencyPolicy policy, IdempotencyOptions options)
    {
        Name = name;
        KeyRequired = policy.KeyRequirement == KeyRequirement.Required;
        Lease = policy.Lease;
        RenewalInterval = policy.Lease / 3;
        Retention = policy.Retention;
        MaxSnapshotBytes = policy.MaxSnapshotBytes;
        StoreServerErrors = policy.StoreServerErrors;
        CustomStorable = policy.IsStatusCodeStorable;
        WaitForConcurrent = policy.ConcurrentRequests == ConcurrentRequestHandling.Wait;
        ConcurrentWaitTimeout = policy.ConcurrentWaitTimeout;
        FailOpen = policy.FailOpen;
        CancelHandlerOnDisconnect = policy.CancelHandlerOnDisconnect;
        FingerprintComponents = policy.FingerprintComponents;
        CanonicalJsonFingerprint = policy.CanonicalJsonFingerprint;
        MaxCanonicalJsonBytes = policy.MaxCanonicalJsonBytes;
        ExcludedResponseHeaders = new HashSet<string>(policy.ExcludedResponseHeaders, StringComparer.OrdinalIgnoreCase);
        var scopeResolver = policy.ScopeResolver ?? options.ScopeResolver;
        _customScopeResolver = scopeResolver == (Func<Microsoft.AspNetCore.Http.HttpContext, string>)PrincipalScope.Resolve ? null : scopeResolver;
        Sequence = policy.SequenceRequirement;
        SequenceStreamResolver = policy.SequenceStreamResolver;
        SequenceWindow = policy.SequenceWindow;
        ReorderWait = policy.ReorderWait;
        StreamRetention = policy.StreamRetention;
    }

    public SequenceRequirement Sequence { get; }

    public Func<Microsoft.AspNetCore.Http.HttpContext, string?>? SequenceStreamResolver { get; }

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

    public Func<int, bool>? CustomStorable { get; }

    public bool WaitForConcurrent { get; }

    public TimeSpan ConcurrentWaitTimeout { get; }

    public bool FailOpen { get; }

    public bool CancelHandlerOnDisconnect { get; }

    public FingerprintComponents FingerprintComponents { get; }

    public bool CanonicalJsonFingerprint { get; }

    public int MaxCanonicalJsonBytes { get; }

    public ISet<string> ExcludedResponseHeaders { get; }

    /// <summary>The scope of this request's records and streams, tagged with its kind.</summary>
    /// <exception cref="InvalidOperationException">The resolver cannot name the caller: a configuration error.</exception>
    public string ResolveScope(Microsoft.AspNetCore.Http.HttpContext context)
    {
        if (_customScopeResolver is null)
        {
            return PrincipalScope.Resolve(context);
        }

        var scope = _customScopeResolver(context);
        return string.IsNullOrEmpty(scope)
            ? throw new InvalidOperationException(
                $"The scope resolver of idempotency policy '{Name}' returned {(scope is null ? "null" : "an empty string")}. " +
                "A scope resolver must name the caller (for example tenant and user); records of callers it cannot tell apart would be shared.")
            : PrincipalScope.Custom(scope);
    }

    /// <summary>
    /// Whether a response with this status completes the record. Besides the 2xx and 4xx the contract names, 3xx are
    /// stored: a redirect (such as 303 after a POST) is the outcome of an operation that ran.
    /// </summary>
    public bool IsStorable(int statusCode)
    {
        if (CustomStorable is not null)
        {
            return CustomStorable(statusCode);
        }

        return statusCode switch
        {
            >= 200 and < 400 => true,
            408 or 409 or 425 or 429 => false,
            >= 400 and < 500 => true,
            >= 500 and < 600 => StoreServerErrors,
            _ => false,
        };
    }
}
