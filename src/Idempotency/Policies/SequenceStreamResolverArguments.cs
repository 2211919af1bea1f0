using Microsoft.AspNetCore.Http;

namespace Idempotency;

/// <summary>The arguments of <see cref="IdempotencyPolicy.SequenceStreamResolver"/>.</summary>
/// <remarks>A struct so that it can gain members in later versions without breaking resolvers written today.</remarks>
public readonly struct SequenceStreamResolverArguments
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="context">The numbered request whose stream is to be named.</param>
    /// <param name="policyName">The name of the endpoint's idempotency policy.</param>
    public SequenceStreamResolverArguments(HttpContext context, string policyName)
    {
        Context = context;
        PolicyName = policyName;
    }

    /// <summary>The numbered request whose stream is to be named.</summary>
    public HttpContext Context { get; }

    /// <summary>The name of the endpoint's idempotency policy (<see cref="IdempotencyOptions.DefaultPolicyName"/> for the default policy).</summary>
    public string PolicyName { get; }

    /// <summary>The request's <see cref="HttpContext.RequestAborted"/>.</summary>
    public CancellationToken CancellationToken => Context.RequestAborted;
}
