namespace Idempotency;

/// <summary>
/// Marks a controller, action or endpoint as idempotent: requests are deduplicated by their idempotency key under
/// the named policy (or <see cref="IdempotencyOptions.DefaultPolicy"/>). Minimal APIs use
/// <c>.RequireIdempotency()</c>, which adds this attribute as endpoint metadata.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class IdempotentAttribute : Attribute
{
    /// <summary>Uses <see cref="IdempotencyOptions.DefaultPolicy"/>.</summary>
    public IdempotentAttribute()
    {
    }

    /// <summary>Uses the named policy.</summary>
    /// <param name="policyName">A policy added with <see cref="IdempotencyOptions.AddPolicy(string, Action{IdempotencyPolicy})"/>.</param>
    public IdempotentAttribute(string policyName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(policyName);
        PolicyName = policyName;
    }

    /// <summary>The policy name, or <see langword="null"/> for the default policy.</summary>
    public string? PolicyName { get; }
}
