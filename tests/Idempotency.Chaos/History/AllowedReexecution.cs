namespace Idempotency.Chaos.History;

/// <summary>
/// One more execution of an operation that the contract allows, and the evidence for it: the earlier execution whose
/// response was provably not stored and whose lease had provably ended (expired or released) before this one began.
/// <paramref name="Proof"/> names the two pieces of evidence in a few words (for the table of figures), the
/// <paramref name="Justification"/> spells them out with their times.
/// </summary>
public sealed record AllowedReexecution(string Principal, string Operation, long RequestId, long EarlierRequestId, string Proof, string Justification)
{
    public override string ToString() => $"[{Principal} {Operation}] request {RequestId} after request {EarlierRequestId}: {Justification}";
}
