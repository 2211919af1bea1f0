using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Idempotency.Policies;

/// <summary>Finds the policy that governs a request from its endpoint's metadata, as rate limiting does.</summary>
internal sealed class IdempotencyPolicyResolver
{
    private readonly ResolvedPolicy _defaultPolicy;
    private readonly Dictionary<string, ResolvedPolicy> _policies;
    private readonly bool _applyToUnsafeMethods;

    public IdempotencyPolicyResolver(IOptions<IdempotencyOptions> options)
    {
        var value = options.Value;
        _defaultPolicy = new ResolvedPolicy(IdempotencyOptions.DefaultPolicyName, value.DefaultPolicy, value);
        _policies = new Dictionary<string, ResolvedPolicy>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, policy) in value.Policies)
        {
            _policies.Add(name, new ResolvedPolicy(name, policy, value));
        }

        _applyToUnsafeMethods = value.ApplyDefaultPolicyToUnsafeMethods;
    }

    /// <summary>The policy named <paramref name="name"/>, for work that is not an HTTP request.</summary>
    /// <param name="name">The policy's name; <see langword="null"/> for the default policy.</param>
    /// <exception cref="InvalidOperationException">No policy has that name: a configuration error.</exception>
    public ResolvedPolicy GetPolicy(string? name)
    {
        if (name is null || string.Equals(name, IdempotencyOptions.DefaultPolicyName, StringComparison.OrdinalIgnoreCase))
        {
            return _defaultPolicy;
        }

        return _policies.TryGetValue(name, out var policy)
            ? policy
            : throw new InvalidOperationException(
                $"The idempotency policy '{name}' was never added. Add it with options.AddPolicy(\"{name}\", ...) in AddIdempotency.");
    }

    /// <summary>The policy that governs a request with <paramref name="method"/> to <paramref name="endpoint"/>.</summary>
    /// <returns>The policy, or <see langword="null"/> when the request passes through untouched.</returns>
    /// <exception cref="InvalidOperationException">The endpoint names a policy that was never added: a configuration error.</exception>
    public ResolvedPolicy? Resolve(Endpoint endpoint, string method) => Resolve(endpoint.Metadata, method, endpoint.DisplayName);

    /// <summary>
    /// The policy that governs requests with <paramref name="method"/> to an endpoint with <paramref name="metadata"/>:
    /// the same answer for the middleware and for tools that describe endpoints without a request (the OpenAPI
    /// transformer of <c>Idempotency.OpenApi</c>), so a document never promises what the middleware does not do.
    /// </summary>
    /// <param name="metadata">The endpoint's metadata, conventions included, in the endpoint's order.</param>
    /// <param name="method">The HTTP method, or <see langword="null"/> for an endpoint that accepts any.</param>
    /// <param name="displayName">The endpoint's name for the configuration error.</param>
    /// <returns>The policy, or <see langword="null"/> when the request passes through untouched.</returns>
    /// <exception cref="InvalidOperationException">The endpoint names a policy that was never added: a configuration error.</exception>
    public ResolvedPolicy? Resolve(EndpointMetadataCollection metadata, string? method, string? displayName)
    {
        if (metadata.GetMetadata<DisableIdempotencyAttribute>() is not null)
        {
            return null;
        }

        var idempotent = metadata.GetMetadata<IdempotentAttribute>();
        if (idempotent is null)
        {
            return _applyToUnsafeMethods && method is not null && (HttpMethods.IsPost(method) || HttpMethods.IsPatch(method))
                ? _defaultPolicy
                : null;
        }

        if (idempotent.PolicyName is null)
        {
            return _defaultPolicy;
        }

        return _policies.TryGetValue(idempotent.PolicyName, out var policy)
            ? policy
            : throw new InvalidOperationException(
                $"The endpoint '{displayName}' requires the idempotency policy '{idempotent.PolicyName}', but no such policy was added. Add it with options.AddPolicy(\"{idempotent.PolicyName}\", ...) in AddIdempotency.");
    }
}
