namespace Idempotency.Chaos.History;

/// <summary>One broken promise found in a history, with enough detail to find the requests involved.</summary>
public sealed record Violation(ViolationKind Kind, string Principal, string Operation, string Detail)
{
    public override string ToString() => $"{Kind} [{Principal} {Operation}]: {Detail}";
}
