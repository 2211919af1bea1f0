namespace Idempotency.Admin.Views;

/// <summary>An applied number of a stream whose response is kept, as the admin endpoints show it.</summary>
internal sealed class StreamEntryView
{
    public required long SequenceNumber { get; init; }

    public required ResponseView Response { get; init; }
}
