namespace Idempotency;

/// <summary>
/// Excludes a controller, action or endpoint from idempotency, overriding <see cref="IdempotentAttribute"/> on an
/// enclosing group and <see cref="IdempotencyOptions.ApplyDefaultPolicyToUnsafeMethods"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DisableIdempotencyAttribute : Attribute
{
}
