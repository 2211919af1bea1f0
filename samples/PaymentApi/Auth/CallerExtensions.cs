using System.Security.Claims;

namespace PaymentApi.Auth;

internal static class CallerExtensions
{
    /// <summary>
    /// The authenticated caller's id (the <c>sub</c> claim): the owner of payments and accounts in the ledger, and the
    /// scope the idempotency middleware keeps records and streams under.
    /// </summary>
    /// <exception cref="InvalidOperationException">The endpoint ran without an authenticated caller: a configuration error.</exception>
    public static string CallerId(this ClaimsPrincipal user) =>
        user.FindFirstValue(DemoApiKeyHandler.SubjectClaimType)
        ?? throw new InvalidOperationException($"The authenticated principal has no '{DemoApiKeyHandler.SubjectClaimType}' claim.");
}
