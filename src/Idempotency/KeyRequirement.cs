namespace Idempotency;

/// <summary>Whether a policy requires an idempotency key.</summary>
public enum KeyRequirement
{
    /// <summary>A request without a key gets <c>400 idempotency-key-missing</c>.</summary>
    Required,

    /// <summary>A request without a key runs unprotected and is never recorded.</summary>
    Optional,
}
