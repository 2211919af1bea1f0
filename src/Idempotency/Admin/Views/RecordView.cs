namespace Idempotency.Admin.Views;

/// <summary>A live record as <c>GET {pattern}/records</c> shows it.</summary>
internal sealed class RecordView
{
    /// <summary>The record's store key: the id its transition log events name.</summary>
    public required string RecordId { get; init; }

    /// <summary><c>in-flight</c> or <c>completed</c>.</summary>
    public required string State { get; init; }

    /// <summary>The owner's fencing token while in flight.</summary>
    public long? FencingToken { get; init; }

    /// <summary>When the owner's lease ends while in flight, the retention once completed (the store's clock).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>For a completed record looked up with a policy: <see cref="ExpiresAt"/> less that policy's retention.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    public string? Policy { get; init; }

    public ResponseView? Response { get; init; }

    /// <summary>The scope and key a lookup named; only with <c>include=key</c>.</summary>
    public string? Scope { get; init; }

    public string? Key { get; init; }
}
