using System.Collections.Concurrent;

namespace Idempotency.Client.Internal;

/// <summary>
/// Every sequence counter of the process, by client, stream and epoch. A singleton because IHttpClientFactory builds a
/// new handler chain every few minutes (HandlerLifetime): a counter held by a handler would start again at 1.
/// </summary>
internal sealed class SequenceCounters
{
    private readonly ConcurrentDictionary<(string Client, string? Stream, string? Epoch), SequenceCounter> _counters = new();

    public SequenceCounter Get(string client, string? stream, string? epoch, long first)
        => _counters.GetOrAdd((client, stream, epoch), static (_, first) => new SequenceCounter(first), first);
}
