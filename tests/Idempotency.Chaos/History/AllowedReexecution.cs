namespace Idempotency.Chaos.History;

/// <summary>
/// One more execution of an operation that the contract allows, and the evidence for it: the earlier execution whose
/// response was provably not stored and whose lease had provably ended (expired or released) before this one began.
/// </summary>
public sealed record AllowedReexecution(string Principal, string Operation, long RequestId, long EarlierRequestId, string Justification)
{
    public override string ToString() => $"[{Principal} {Operation}] request {RequestId} after request {EarlierRequestId}: {Justification}";
}
