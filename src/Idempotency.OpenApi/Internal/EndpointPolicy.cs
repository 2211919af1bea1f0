using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.ApiExplorer;

namespace Idempotency.OpenApi.Internal;

/// <summary>
/// Finds the policy the middleware applies to a described endpoint, by the rules of the middleware's policy resolver:
/// <see cref="DisableIdempotencyAttribute"/> wins, then the last <see cref="IdempotentAttribute"/> (as
/// <c>EndpointMetadataCollection.GetMetadata</c> takes the last), then the default policy for POST and PATCH when
/// <see cref="IdempotencyOptions.ApplyDefaultPolicyToUnsafeMethods"/> is set.
/// </summary>
internal static class EndpointPolicy
{
    /// <returns>The policy, or <see langword="null"/> when requests to the endpoint pass through untouched.</returns>
    /// <exception cref="InvalidOperationException">The endpoint names a policy that was never added, as the middleware reports it.</exception>
    public static IdempotencyPolicy? Find(ApiDescription description, IEnumerable<object> metadata, IdempotencyOptions options)
    {
        IdempotentAttribute? idempotent = null;
        foreach (var item in metadata)
        {
            switch (item)
            {
                case DisableIdempotencyAttribute:
                    return null;
                case IdempotentAttribute attribute:
                    idempotent = attribute;
                    break;
            }
        }

        if (idempotent is null)
        {
            var method = description.HttpMethod;
            return options.ApplyDefaultPolicyToUnsafeMethods && method is not null && (HttpMethods.IsPost(method) || HttpMethods.IsPatch(method))
                ? options.DefaultPolicy
                : null;
        }

        if (idempotent.PolicyName is null)
        {
            return options.DefaultPolicy;
        }

        return options.Policies.TryGetValue(idempotent.PolicyName, out var policy)
            ? policy
            : throw new InvalidOperationException(
                $"The endpoint '{description.ActionDescriptor.DisplayName ?? description.RelativePath}' requires the idempotency policy '{idempotent.PolicyName}', but no such policy was added. Add it with options.AddPolicy(\"{idempotent.PolicyName}\", ...) in AddIdempotency.");
    }
}
