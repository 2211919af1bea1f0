using Idempotency.Fingerprinting;
using Idempotency.Keys;

namespace Idempotency;

/// <summary>
/// Ready-made <see cref="IdempotencyPolicy.KeyResolver"/>s: the idempotency key from a route value, another header
/// (a webhook's delivery id) or a member of the JSON body.
/// </summary>
public static class IdempotencyKeyResolvers
{
    /// <summary>
    /// The key is the route value <paramref name="name"/> (for example <c>PUT /orders/{orderId}</c>), as it is: it names
    /// "this operation on this resource", so the same value on another endpoint or with another method is another key.
    /// </summary>
    /// <param name="name">The route parameter's name.</param>
    /// <returns>A resolver for <see cref="IdempotencyPolicy.KeyResolver"/>.</returns>
    public static Func<KeyResolverArguments, ValueTask<string?>> FromRouteValue(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new RouteValueKeyResolver(name).ResolveAsync;
    }

    /// <summary>
    /// The key is the value of the request header <paramref name="name"/>, read as the idempotency key header is (one
    /// token or quoted string; two values are refused). Problem responses name this header.
    /// </summary>
    /// <param name="name">The header's name, such as a webhook's <c>X-GitHub-Delivery</c>.</param>
    /// <returns>A resolver for <see cref="IdempotencyPolicy.KeyResolver"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid header name.</exception>
    public static Func<KeyResolverArguments, ValueTask<string?>> FromHeader(string name)
    {
        if (HeaderNameValidation.Problem(name, nameof(name)) is { } problem)
        {
            throw new ArgumentException(problem, nameof(name));
        }

        return new HeaderKeyResolver(name).ResolveAsync;
    }

    /// <summary>
    /// The key is the member of the JSON request body at <paramref name="jsonPointer"/> (RFC 6901, such as <c>/id</c>
    /// or <c>/event/id</c>): a string, or a number as written, within the request's endpoint and method. A body that is
    /// not JSON, or lacks the member (or holds another kind of value there), carries no key. A leading UTF-8 byte order
    /// mark is skipped.
    /// </summary>
    /// <remarks>
    /// At most <see cref="KeyResolverArguments.MaxBodyBytes"/> (the policy's <see cref="IdempotencyPolicy.MaxCanonicalJsonBytes"/>)
    /// bytes are read: a longer body is refused with <c>413 request-body-invalid</c> and a JSON body that does not
    /// parse with <c>400 request-body-invalid</c>, without running the handler. The body is rewound for the handler.
    /// </remarks>
    /// <param name="jsonPointer">Where the key is in the body.</param>
    /// <returns>A resolver for <see cref="IdempotencyPolicy.KeyResolver"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="jsonPointer"/> is not a JSON Pointer to a member.</exception>
    public static Func<KeyResolverArguments, ValueTask<string?>> FromJsonMember(string jsonPointer)
    {
        if (!JsonPointer.TryParse(jsonPointer, out var tokens))
        {
            throw new ArgumentException(
                $"'{jsonPointer}' is not a JSON Pointer to a member: it must start with '/' (such as '/id' or '/event/id'), and '~' must be followed by 0 or 1.",
                nameof(jsonPointer));
        }

        return new JsonMemberKeyResolver(jsonPointer, tokens).ResolveAsync;
    }
}
