using System.Diagnostics.Metrics;
using Idempotency.Diagnostics;

namespace Idempotency.LocalReplay;

/// <summary>
/// The local replay cache's instruments, on the library's meter: <c>idempotency.local_replay.lookups</c> (tagged with
/// the policy and <c>hit</c> or <c>miss</c>, so a hit rate per policy), and how many entries and bytes it holds.
/// </summary>
internal sealed class LocalReplayMetrics
{
    private const string ResultTag = "idempotency.local_replay.result";

    private readonly Counter<long> _lookups;

    public LocalReplayMetrics(IMeterFactory meterFactory, Func<long> entries, Func<long> bytes)
    {
        var meter = meterFactory.Create(IdempotencyTelemetry.MeterName);
        _lookups = meter.CreateCounter<long>(
            "idempotency.local_replay.lookups", "{lookup}", "Lookups in the local replay cache, by policy and whether an entry answered (hit) or the store was asked (miss).");
        meter.CreateObservableUpDownCounter(
            "idempotency.local_replay.entries", entries, "{entry}", "Entries the local replay cache holds, expired ones not yet dropped included.");
        meter.CreateObservableUpDownCounter(
            "idempotency.local_replay.size", bytes, "By", "Bytes the local replay cache's entries are counted for against its size limit.");
    }

    public void Lookup(string policy, bool hit)
    {
        if (_lookups.Enabled)
        {
            _lookups.Add(1, new KeyValuePair<string, object?>("idempotency.policy", policy), new KeyValuePair<string, object?>(ResultTag, hit ? "hit" : "miss"));
        }
    }
}
