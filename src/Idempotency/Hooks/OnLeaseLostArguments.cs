using Microsoft.AspNetCore.Http;

namespace Idempotency;

/// <summary>
/// The arguments of <see cref="IdempotencyOptions.OnLeaseLost"/>: while a handler ran, its record was taken over by
/// another request (its lease expired), so its response is not recorded and the operation may run twice.
/// </summary>
/// <remarks>A struct so that it can gain members in later versions without breaking hooks written today.</remarks>
public readonly struct OnLeaseLostArguments
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="context">The request, or <see langword="null"/> outside HTTP.</param>
    /// <param name="policyName">The name of the idempotency policy.</param>
    public OnLeaseLostArguments(HttpContext? context, string policyName)
    {
        Context = context;
        PolicyName = policyName;
    }

    /// <summary>
    /// The request, or <see langword="null"/> when the work is not an HTTP request (it was run through a front door
    /// other than the middleware, such as an executor for queue messages). The hook runs once the handler has finished
    /// (its response is written, not yet completed), whether the loss was seen by a refused renewal or a fenced completion.
    /// </summary>
    public HttpContext? Context { get; }

    /// <summary>The name of the idempotency policy (<see cref="IdempotencyOptions.DefaultPolicyName"/> for the default policy).</summary>
    public string PolicyName { get; }
}
