using Microsoft.AspNetCore.Http;

namespace Idempotency;

/// <summary>The arguments of <see cref="IdempotencyPolicy.ShouldStoreResponse"/>.</summary>
/// <remarks>A struct so that it can gain members in later versions without breaking predicates written today.</remarks>
public readonly struct StoreResponsePredicateArguments
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="context">The request whose handler has just completed.</param>
    /// <param name="policyName">The name of the endpoint's idempotency policy.</param>
    /// <param name="statusCode">The status code of the handler's response.</param>
    public StoreResponsePredicateArguments(HttpContext context, string policyName, int statusCode)
    {
        Context = context;
        PolicyName = policyName;
        StatusCode = statusCode;
    }

    /// <summary>The request whose handler has just completed; its response has been sent.</summary>
    public HttpContext Context { get; }

    /// <summary>The name of the endpoint's idempotency policy (<see cref="IdempotencyOptions.DefaultPolicyName"/> for the default policy).</summary>
    public string PolicyName { get; }

    /// <summary>The status code of the handler's response.</summary>
    public int StatusCode { get; }
}
