using Microsoft.AspNetCore.Http;

namespace Idempotency;

/// <summary>The arguments of <see cref="IdempotencyPolicy.KeyResolver"/>.</summary>
/// <remarks>A struct so that it can gain members in later versions without breaking resolvers written today.</remarks>
public readonly struct KeyResolverArguments
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="context">The request whose idempotency key is wanted.</param>
    /// <param name="policyName">The name of the endpoint's idempotency policy.</param>
    /// <param name="maxBodyBytes">The most bytes of the request body a resolver may read.</param>
    public KeyResolverArguments(HttpContext context, string policyName, int maxBodyBytes)
    {
        Context = context;
        PolicyName = policyName;
        MaxBodyBytes = maxBodyBytes;
    }

    /// <summary>The request whose idempotency key is wanted.</summary>
    public HttpContext Context { get; }

    /// <summary>The name of the endpoint's idempotency policy (<see cref="IdempotencyOptions.DefaultPolicyName"/> for the default policy).</summary>
    public string PolicyName { get; }

    /// <summary>
    /// The most bytes of the request body a resolver may read: the policy's <see cref="IdempotencyPolicy.MaxCanonicalJsonBytes"/>.
    /// A resolver that reads the body must stop there and leave the body rewound (position 0) for the handler.
    /// </summary>
    public int MaxBodyBytes { get; }

    /// <summary>The request's <see cref="HttpContext.RequestAborted"/>.</summary>
    public CancellationToken CancellationToken => Context.RequestAborted;
}
