using Idempotency;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Opts minimal API endpoints and route groups in or out of idempotency.</summary>
public static class IdempotencyEndpointConventionBuilderExtensions
{
    /// <summary>Makes the endpoints idempotent under <see cref="IdempotencyOptions.DefaultPolicy"/>.</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The builder.</returns>
    public static TBuilder RequireIdempotency<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new IdempotentAttribute();
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }

    /// <summary>Makes the endpoints idempotent under the named policy.</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <param name="policyName">A policy added with <see cref="IdempotencyOptions.AddPolicy(string, Action{IdempotencyPolicy})"/>.</param>
    /// <returns>The builder.</returns>
    public static TBuilder RequireIdempotency<TBuilder>(this TBuilder builder, string policyName)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new IdempotentAttribute(policyName);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }

    /// <summary>Excludes the endpoints from idempotency, overriding an enclosing group's or the global policy.</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The builder.</returns>
    public static TBuilder DisableIdempotency<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new DisableIdempotencyAttribute();
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
