namespace Idempotency.Middleware;

/// <summary>Registered by <c>AddIdempotency()</c> so <c>UseIdempotency()</c> can tell whether it was called.</summary>
internal sealed class IdempotencyMiddlewareMarker
{
}
