using Microsoft.AspNetCore.Authorization;

namespace PaymentApi.Admin;

/// <summary>
/// Wires the idempotency admin endpoints at <c>/admin/idempotency</c>, safe by default: they are mapped only when the
/// configuration names operators (<c>IdempotencyAdmin:Operators</c>, user names as the demo keys map them), and only
/// those users may call them. Stored bodies, scopes and keys are shown only to <c>IdempotencyAdmin:Auditors</c>.
/// Production configuration names nobody, so there are no admin endpoints at all.
/// </summary>
internal static class IdempotencyAdminSetup
{
    public const string Pattern = "/admin/idempotency";
    public const string OperatorsPolicy = "idempotency-operators";
    public const string AuditorsPolicy = "idempotency-auditors";

    private const string Section = "IdempotencyAdmin";

    public static void AddIdempotencyAdminPolicies(this AuthorizationOptions options, IConfiguration configuration)
    {
        if (Users(configuration, "Operators") is { Length: > 0 } operators)
        {
            options.AddPolicy(OperatorsPolicy, policy => policy.RequireClaim("sub", operators));
            var auditors = Users(configuration, "Auditors");

            // A policy no user satisfies when nobody is named: contents stay hidden from everyone.
            options.AddPolicy(AuditorsPolicy, policy => policy.RequireClaim("sub", auditors is { Length: > 0 } ? auditors : ["\0nobody"]));
        }
    }

    public static void MapIdempotencyAdminForOperators(this WebApplication app, IConfiguration configuration)
    {
        if (Users(configuration, "Operators") is not { Length: > 0 })
        {
            return;
        }

        app.MapIdempotencyAdmin(Pattern, options =>
        {
            options.AuthorizationPolicy = OperatorsPolicy;
            options.ContentAuthorizationPolicy = AuditorsPolicy;
        });
    }

    private static string[] Users(IConfiguration configuration, string role)
        => configuration.GetSection(Section).GetSection(role).Get<string[]>() ?? [];
}
