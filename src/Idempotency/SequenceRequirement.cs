namespace Idempotency;

/// <summary>Whether a policy uses sequence numbers (docs/contract.md §4).</summary>
public enum SequenceRequirement
{
    /// <summary>Sequence headers are ignored; requests are deduplicated by idempotency key only.</summary>
    Off,

    /// <summary>A request with a <c>Sequence-Number</c> is handled in sequence mode; one without falls back to key mode.</summary>
    Optional,

    /// <summary>A request without a <c>Sequence-Number</c> gets <c>428 sequence-number-missing</c>.</summary>
    Required,
}
