using Microsoft.AspNetCore.Http;

namespace Idempotency;

/// <summary>The arguments of <see cref="IdempotencyOptions.OnRejected"/>: a request was answered with a problem instead of its handler's response.</summary>
/// <remarks>A struct so that it can gain members in later versions without breaking hooks written today.</remarks>
public readonly struct OnRejectedArguments
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="context">The request, or <see langword="null"/> outside HTTP.</param>
    /// <param name="policyName">The name of the idempotency policy.</param>
    /// <param name="problemType">The problem's name, the last part of its <c>type</c>, such as <c>idempotency-key-reused</c>.</param>
    /// <param name="statusCode">The status code the problem was sent with.</param>
    public OnRejectedArguments(HttpContext? context, string policyName, string problemType, int statusCode)
    {
        Context = context;
        PolicyName = policyName;
        ProblemType = problemType;
        StatusCode = statusCode;
    }

    /// <summary>
    /// The request, or <see langword="null"/> when the work is not an HTTP request (it was run through a front door
    /// other than the middleware, such as an executor for queue messages).
    /// </summary>
    public HttpContext? Context { get; }

    /// <summary>The name of the idempotency policy (<see cref="IdempotencyOptions.DefaultPolicyName"/> for the default policy).</summary>
    public string PolicyName { get; }

    /// <summary>
    /// The problem's name: the last part of its <c>type</c>, without <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>,
    /// such as <c>idempotency-key-reused</c> or <c>sequence-gap</c>.
    /// </summary>
    public string ProblemType { get; }

    /// <summary>The status code the problem was sent with.</summary>
    public int StatusCode { get; }
}
