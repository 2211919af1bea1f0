using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace Idempotency.Policies;

/// <summary>
/// The default scope: who the caller is. Every scope carries its kind, so scopes of different kinds never meet:
/// a subject literally named <c>anonymous</c> is not the anonymous scope, and a custom resolver's <c>alice</c> is
/// not the subject <c>alice</c>.
/// </summary>
/// <remarks>
/// The claim's issuer is part of the identity: two authentication schemes (two token issuers, say) can each hand out
/// the subject <c>42</c> to different people. Certificate, Negotiate and many API-key handlers set only the name
/// claim, so the name is the last fallback. A principal that is authenticated but names nobody cannot be told apart
/// from the next one, so it is a configuration error, never a shared scope.
/// </remarks>
internal static class PrincipalScope
{
    /// <summary>The scope of every unauthenticated caller.</summary>
    public const string Anonymous = "anonymous";

    private const string SubjectClaim = "sub";
    private const string SubjectKind = "sub:";
    private const string NameIdentifierKind = "nameid:";
    private const string NameKind = "name:";
    private const string CustomKind = "custom:";
    private const string WorkerKind = "worker:";
    private const string SharedWorker = "worker";

    /// <summary>
    /// The default <see cref="IdempotencyOptions.ScopeResolver"/>. A policy whose resolver is this one calls
    /// <see cref="Resolve"/> directly: no delegate call and no task per request.
    /// </summary>
    public static readonly Func<ScopeResolverArguments, ValueTask<string>> Resolver = static arguments => new ValueTask<string>(Resolve(arguments.Context));

    /// <summary>The default scope: the caller's identity, tagged with its kind.</summary>
    /// <exception cref="InvalidOperationException">The caller is authenticated but has no <c>sub</c>, <see cref="ClaimTypes.NameIdentifier"/> or name claim.</exception>
    public static string Resolve(HttpContext context)
    {
        Claim? subject = null;
        Claim? nameIdentifier = null;
        Claim? name = null;
        string? authenticationType = null;
        var authenticated = false;
        // DefaultHttpContext.User makes (and keeps) an empty principal for a request nobody authenticated, which costs a
        // principal, an identity and their lists on every such request just to find no authenticated identity in it; its
        // User is the authentication feature's. Any other HttpContext's User is its own, so it is asked.
        var user = context is DefaultHttpContext ? context.Features.Get<IHttpAuthenticationFeature>()?.User : context.User;
        if (user is null)
        {
            return Anonymous;
        }

        foreach (var identity in user.Identities)
        {
            // Claims of an identity nobody vouched for name nobody.
            if (!identity.IsAuthenticated)
            {
                continue;
            }

            authenticated = true;
            authenticationType ??= identity.AuthenticationType;
            subject ??= FindUsable(identity, SubjectClaim);
            nameIdentifier ??= FindUsable(identity, ClaimTypes.NameIdentifier);
            name ??= FindUsable(identity, identity.NameClaimType);
        }

        if (!authenticated)
        {
            return Anonymous;
        }

        if (subject is not null)
        {
            return Tag(SubjectKind, subject);
        }

        if (nameIdentifier is not null)
        {
            return Tag(NameIdentifierKind, nameIdentifier);
        }

        if (name is not null)
        {
            return Tag(NameKind, name);
        }

        throw new InvalidOperationException(
            $"The caller is authenticated (authentication type '{authenticationType}') but has no 'sub', NameIdentifier or name claim, " +
            "so the idempotency middleware cannot tell this principal from others and will not share one scope between them. " +
            "Add one of those claims in the authentication handler, or set IdempotencyOptions.ScopeResolver (or the policy's ScopeResolver) " +
            "to a function that returns a unique identifier for the caller.");
    }

    /// <summary>The scope a custom resolver named, kept apart from every scope of <see cref="Resolve"/>.</summary>
    public static string Custom(string scope) => string.Concat(CustomKind, scope);

    /// <summary>
    /// The scope of an <see cref="IIdempotentExecutor"/> operation: a kind of its own, so no HTTP caller's scope
    /// (whatever its claims or custom resolver say) can equal a worker's.
    /// </summary>
    /// <param name="scope">The operation's scope, or <see langword="null"/> for the one shared worker scope.</param>
    public static string Worker(string? scope) => scope is null ? SharedWorker : string.Concat(WorkerKind, scope);

    /// <summary>
    /// The scope as its resolver named it, without its kind: the claim value of a principal's scope, the string a
    /// custom resolver returned, or <see cref="Anonymous"/>. For the application's eyes only; never a store identity.
    /// </summary>
    public static string Describe(string scope)
    {
        if (scope.StartsWith(CustomKind, StringComparison.Ordinal))
        {
            return scope[CustomKind.Length..];
        }

        var kind = scope.StartsWith(SubjectKind, StringComparison.Ordinal) ? SubjectKind.Length
            : scope.StartsWith(NameIdentifierKind, StringComparison.Ordinal) ? NameIdentifierKind.Length
            : scope.StartsWith(NameKind, StringComparison.Ordinal) ? NameKind.Length
            : 0;
        if (kind == 0)
        {
            return scope;
        }

        // kind, issuer length, ':', issuer, ':', value (see Tag).
        var rest = scope.AsSpan(kind);
        var colon = rest.IndexOf(':');
        return colon > 0 && int.TryParse(rest[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var issuerLength)
            && colon + 1 + issuerLength + 1 <= rest.Length
                ? rest[(colon + 1 + issuerLength + 1)..].ToString()
                : scope;
    }

    private static Claim? FindUsable(ClaimsIdentity identity, string type)
    {
        var claim = identity.FindFirst(type);
        return claim is not null && !string.IsNullOrEmpty(claim.Value) ? claim : null;
    }

    /// <summary>
    /// The scope an operator names (admin endpoints): <c>anonymous</c>; <c>sub:</c>, <c>nameid:</c> or <c>name:</c>
    /// and a claim value, issued by <paramref name="issuer"/> (<see cref="ClaimsIdentity.DefaultIssuer"/> when
    /// <see langword="null"/>, as for claims an application's own handler creates); <c>custom:</c> and what a custom
    /// resolver returns; <c>worker</c> or <c>worker:</c> and an <see cref="IIdempotentExecutor"/> operation's scope.
    /// The same scope <see cref="Resolve"/>, <see cref="Custom"/> or <see cref="Worker"/> builds for that caller.
    /// </summary>
    /// <returns>The scope, or <see langword="null"/> when <paramref name="text"/> names no kind of scope.</returns>
    public static string? FromDescription(string text, string? issuer)
    {
        if (text == Anonymous)
        {
            return Anonymous;
        }

        if (text == SharedWorker)
        {
            return SharedWorker;
        }

        foreach (var kind in (ReadOnlySpan<string>)[SubjectKind, NameIdentifierKind, NameKind])
        {
            if (text.Length > kind.Length && text.StartsWith(kind, StringComparison.Ordinal))
            {
                return Tag(kind, issuer ?? ClaimsIdentity.DefaultIssuer, text[kind.Length..]);
            }
        }

        if (text.Length > CustomKind.Length && text.StartsWith(CustomKind, StringComparison.Ordinal))
        {
            return text;
        }

        return text.Length > WorkerKind.Length && text.StartsWith(WorkerKind, StringComparison.Ordinal) ? text : null;
    }

    private static string Tag(string kind, Claim claim) => Tag(kind, claim.Issuer, claim.Value);

    // The issuer's length comes first, so no issuer and value can be split two ways.
    private static string Tag(string kind, string issuer, string value)
        => string.Concat(kind, issuer.Length.ToString(CultureInfo.InvariantCulture), ":", issuer, ":", value);
}
