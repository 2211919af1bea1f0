using Microsoft.AspNetCore.Http;

namespace Idempotency;

/// <summary>
/// The arguments of <see cref="IdempotencyOptions.OnFailOpen"/>: the store could not be reached and the policy's
/// <see cref="IdempotencyPolicy.FailOpen"/> let the handler run unprotected.
/// </summary>
/// <remarks>A struct so that it can gain members in later versions without breaking hooks written today.</remarks>
public readonly struct OnFailOpenArguments
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="context">The request, or <see langword="null"/> outside HTTP.</param>
    /// <param name="policyName">The name of the idempotency policy.</param>
    /// <param name="exception">Why the store could not be reached.</param>
    public OnFailOpenArguments(HttpContext? context, string policyName, Exception exception)
    {
        Context = context;
        PolicyName = policyName;
        Exception = exception;
    }

    /// <summary>
    /// The request, or <see langword="null"/> when the work is not an HTTP request (it was run through a front door
    /// other than the middleware, such as an executor for queue messages).
    /// </summary>
    public HttpContext? Context { get; }

    /// <summary>The name of the idempotency policy (<see cref="IdempotencyOptions.DefaultPolicyName"/> for the default policy).</summary>
    public string PolicyName { get; }

    /// <summary>Why the store could not be reached.</summary>
    public Exception Exception { get; }
}
