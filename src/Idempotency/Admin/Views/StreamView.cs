namespace Idempotency.Admin.Views;

/// <summary>A live sequence stream as <c>GET {pattern}/streams</c> shows it.</summary>
internal sealed class StreamView
{
    /// <summary>The stream's store key: the id its transition log events name.</summary>
    public required string StreamId { get; init; }

    public required long Epoch { get; init; }

    public required long LastSequenceNumber { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    public StreamSlotView? Slot { get; init; }

    public required StreamEntryView[] Window { get; init; }

    public string? Scope { get; init; }

    public string? Stream { get; init; }
}
