namespace Idempotency.Admin.Views;

/// <summary>A stream's live in-flight slot as the admin endpoints show it.</summary>
internal sealed class StreamSlotView
{
    public required long FencingToken { get; init; }

    public required long Epoch { get; init; }

    public required long SequenceNumber { get; init; }

    public required DateTimeOffset LeaseEndsAt { get; init; }
}
