using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Tests.Infrastructure;

/// <summary>
/// An authentication handler in the shape of certificate, Negotiate and API-key handlers: the caller names itself in
/// <c>X-Name</c> (a <see cref="ClaimTypes.Name"/> claim only), and may add <c>X-Sub</c>, <c>X-NameId</c> and the
/// claims' issuer in <c>X-Issuer</c>. <c>X-Authenticated: claimless</c> makes an authenticated principal with no claim.
/// </summary>
public sealed class HeaderAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Header";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var headers = Request.Headers;
        var issuer = headers.TryGetValue("X-Issuer", out var issuerValue) ? issuerValue.ToString() : ClaimsIdentity.DefaultIssuer;
        var claims = new List<Claim>();
        if (headers.TryGetValue("X-Name", out var name))
        {
            claims.Add(new Claim(ClaimTypes.Name, name.ToString(), ClaimValueTypes.String, issuer));
        }

        if (headers.TryGetValue("X-Sub", out var sub))
        {
            claims.Add(new Claim("sub", sub.ToString(), ClaimValueTypes.String, issuer));
        }

        if (headers.TryGetValue("X-NameId", out var nameId))
        {
            claims.Add(new Claim(ClaimTypes.NameIdentifier, nameId.ToString(), ClaimValueTypes.String, issuer));
        }

        if (claims.Count == 0 && headers["X-Authenticated"] != "claimless")
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }
}
