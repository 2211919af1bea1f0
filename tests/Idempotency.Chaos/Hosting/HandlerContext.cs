namespace Idempotency.Chaos.Hosting;

/// <summary>What a handler hook learns about the execution it delays.</summary>
public sealed record HandlerContext(string Instance, string Principal, string Operation, long RequestId, CancellationToken RequestAborted);
