using Microsoft.AspNetCore.Http;

namespace Idempotency;

/// <summary>The arguments of <see cref="IdempotencyOptions.OnReplayed"/>: a retry was answered with the recorded response.</summary>
/// <remarks>A struct so that it can gain members in later versions without breaking hooks written today.</remarks>
public readonly struct OnReplayedArguments
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="context">The request, or <see langword="null"/> outside HTTP.</param>
    /// <param name="policyName">The name of the idempotency policy.</param>
    /// <param name="statusCode">The recorded status code that was replayed.</param>
    public OnReplayedArguments(HttpContext? context, string policyName, int statusCode)
    {
        Context = context;
        PolicyName = policyName;
        StatusCode = statusCode;
    }

    /// <summary>
    /// The request, or <see langword="null"/> when the work is not an HTTP request (it was run through a front door
    /// other than the middleware, such as an executor for queue messages).
    /// </summary>
    public HttpContext? Context { get; }

    /// <summary>The name of the idempotency policy (<see cref="IdempotencyOptions.DefaultPolicyName"/> for the default policy).</summary>
    public string PolicyName { get; }

    /// <summary>The recorded status code that was replayed.</summary>
    public int StatusCode { get; }
}
