using Idempotency;
using Idempotency.OpenApi.Internal;

namespace Microsoft.AspNetCore.OpenApi;

/// <summary>Documents idempotent endpoints in the OpenAPI documents of <c>Microsoft.AspNetCore.OpenApi</c>.</summary>
public static class IdempotencyOpenApiOptionsExtensions
{
    /// <summary>
    /// Adds an operation transformer that documents what the idempotency middleware does on each endpoint it governs:
    /// the request headers (<see cref="IdempotencyOptions.KeyHeaderName"/> and, for policies with sequence numbers,
    /// <see cref="IdempotencyOptions.SequenceNumberHeaderName"/>, <see cref="IdempotencyOptions.SequenceStreamHeaderName"/>
    /// and <see cref="IdempotencyOptions.SequenceEpochHeaderName"/>), the <c>application/problem+json</c> responses
    /// (400, 409, 422, 428, 429, 503) and the <see cref="IdempotencyOptions.ReplayedHeaderName"/> header of replayed
    /// success responses.
    /// </summary>
    /// <remarks>
    /// An endpoint is documented when the middleware would apply a policy to it: it carries
    /// <see cref="IdempotentAttribute"/> metadata (<c>[Idempotent]</c>, <c>.RequireIdempotency()</c>) and no
    /// <see cref="DisableIdempotencyAttribute"/>, or it is a POST or PATCH endpoint without metadata while
    /// <see cref="IdempotencyOptions.ApplyDefaultPolicyToUnsafeMethods"/> is set. The policy and the header names are
    /// read from the <see cref="IdempotencyOptions"/> registered with <c>AddIdempotency</c>. Responses and parameters
    /// the endpoint documents itself are left as they are; other endpoints are not touched.
    /// </remarks>
    /// <param name="options">The options of one OpenAPI document, as passed to <c>AddOpenApi(options => ...)</c>.</param>
    /// <returns>The options.</returns>
    /// <example>
    /// <code>
    /// builder.Services.AddOpenApi(options => options.AddIdempotency());
    /// </code>
    /// </example>
    public static OpenApiOptions AddIdempotency(this OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.AddOperationTransformer(IdempotencyOperationTransformer.Instance);
    }
}
