namespace Idempotency;

/// <summary>
/// Who may use the admin endpoints that <c>MapIdempotencyAdmin</c> maps: inspect and delete records, inspect and reset
/// sequence streams. They show what a store holds for any caller, so they are never open: an authorization policy
/// must be named.
/// </summary>
public sealed class IdempotencyAdminOptions
{
    /// <summary>
    /// The authorization policy every admin request must satisfy. Required: mapping the endpoints without one throws.
    /// Callers who are not authenticated get 401, those the policy refuses 403.
    /// </summary>
    /// <value>No default; must be set.</value>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>
    /// The authorization policy a caller must satisfy, on top of <see cref="AuthorizationPolicy"/>, to see contents:
    /// a stored response's body (<c>?include=body</c>) and the scope and key a lookup named (<c>?include=key</c>).
    /// Without it, status, headers, body size and hash are shown and contents are refused to everyone (403).
    /// </summary>
    /// <value>Defaults to <see langword="null"/>: contents are never shown.</value>
    public string? ContentAuthorizationPolicy { get; set; }
}
