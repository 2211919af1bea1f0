using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace PaymentApi.Auth;

/// <summary>The demo keys: API key to user name, bound from the <c>DemoApiKeys</c> configuration section.</summary>
internal sealed class DemoApiKeyOptions : AuthenticationSchemeOptions
{
    public Dictionary<string, string> Keys { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Authenticates <c>Authorization: Bearer sk_test_alice</c> against the demo keys. The principal carries a <c>sub</c>
/// claim, which the idempotency middleware uses as the scope of its records: two users never share a key's record.
/// A real service would look up hashed keys in its database; the shape of the handler stays the same.
/// </summary>
internal sealed class DemoApiKeyHandler(IOptionsMonitor<DemoApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<DemoApiKeyOptions>(options, logger, encoder)
{
    public const string SchemeName = "DemoApiKey";
    public const string SubjectClaimType = "sub";

    private const string BearerPrefix = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var authorization = Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var key = authorization[BearerPrefix.Length..].Trim();
        if (!Options.Keys.TryGetValue(key, out var user) || string.IsNullOrEmpty(user))
        {
            // The key itself is never logged: it is a secret.
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        var identity = new ClaimsIdentity([new Claim(SubjectClaimType, user)], Scheme.Name, SubjectClaimType, roleType: null);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        // RFC 6750 asks for the scheme on every 401. The body is left empty here; UseStatusCodePages turns the
        // 401 into a problem response like every other error.
        Response.Headers.WWWAuthenticate = "Bearer";
        return base.HandleChallengeAsync(properties);
    }
}
