namespace Idempotency.Hosting;

/// <summary>
/// What the registered store must offer for the configured policies, checked when the application starts (an options
/// type of its own so that resolving the store never runs inside the validation of <see cref="IdempotencyOptions"/>:
/// a store that reads those options would otherwise resolve them while they are being built).
/// </summary>
internal sealed class StoreRequirements
{
}
