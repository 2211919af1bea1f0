using System.Diagnostics.Metrics;
using Idempotency.Diagnostics;

namespace Idempotency.Storage.InMemory;

/// <summary>
/// The in-memory store's counters of its limits biting, on the middleware's meter (<see cref="IdempotencyTelemetry.MeterName"/>):
/// refused begins, responses kept without their body, and live records evicted when that is opted into.
/// </summary>
/// <remarks>
/// The store cannot use <see cref="IdempotencyTelemetry"/> itself (that is built from the store, to name it), so it
/// asks the meter factory for the same meter. Tags are enums' names: never a key or a scope.
/// </remarks>
internal sealed class InMemoryStoreMetrics : IDisposable
{
    private const string StoreName = nameof(InMemoryIdempotencyStore);

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _bodiesDropped;
    private readonly Counter<long> _evictions;

    /// <param name="meterFactory">The application's meter factory; without one (a store built by hand) the store owns its meter.</param>
    public InMemoryStoreMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(IdempotencyTelemetry.MeterName) ?? new Meter(IdempotencyTelemetry.MeterName);
        _rejections = _meter.CreateCounter<long>(
            "idempotency.store.rejections", "{request}",
            "Requests the store refused for lack of room, before their handler ran: the store full, or the caller's scope at its quota.");
        _bodiesDropped = _meter.CreateCounter<long>(
            "idempotency.store.bodies_dropped", "{response}",
            "Completed responses kept without their body because it did not fit (store full, or scope at its quota); a retry gets the status only.");
        _evictions = _meter.CreateCounter<long>(
            "idempotency.store.evictions", "{record}",
            "Completed records within their retention evicted to make room (EvictLiveRecordsWhenFull only); a retry of one runs the operation again.");
    }

    public void Rejected(StoreCapacityReason reason, bool stream)
        => Count(_rejections, stream ? "begin_sequence" : "begin", reason);

    public void BodyDropped(StoreCapacityReason reason, bool stream)
        => Count(_bodiesDropped, stream ? "complete_sequence" : "complete", reason);

    public void Evicted()
    {
        if (_evictions.Enabled)
        {
            _evictions.Add(1, new KeyValuePair<string, object?>("idempotency.store", StoreName));
        }
    }

    public void Dispose()
    {
        // A factory's meters belong to the factory (and the middleware's telemetry shares this one).
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static void Count(Counter<long> counter, string operation, StoreCapacityReason reason)
    {
        if (counter.Enabled)
        {
            counter.Add(
                1,
                new KeyValuePair<string, object?>("idempotency.store", StoreName),
                new KeyValuePair<string, object?>("idempotency.store.operation", operation),
                new KeyValuePair<string, object?>("idempotency.store.rejection.reason", ReasonName(reason)));
        }
    }

    private static string ReasonName(StoreCapacityReason reason)
        => reason == StoreCapacityReason.StoreFull ? "store_full" : "scope_quota";
}
