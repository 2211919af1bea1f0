namespace Idempotency.Keys;

/// <summary>A built-in key resolver that can say where it takes the key from, so problem responses name it.</summary>
internal interface IKeySourceDescription
{
    /// <summary>Where the key comes from, as a problem detail says it: <c>the route value 'orderId'</c>.</summary>
    string Description { get; }
}
