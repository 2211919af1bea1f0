using System.Diagnostics;
using Idempotency.Diagnostics;
using Idempotency.Policies;
using Idempotency.Storage;

namespace Idempotency.Middleware;

/// <summary>
/// What an executing request owns in the store: a key-mode record or a sequence stream's in-flight slot. Execution,
/// lease renewal and completion are the same for both; only the store operations differ.
/// </summary>
internal readonly struct Ownership
{
    private readonly IIdempotencyStore _store;
    private readonly IIdempotencySequenceStore? _sequenceStore;
    private readonly IdempotencyTelemetry _telemetry;
    private readonly ResolvedPolicy _policy;
    private readonly bool _isStream;

    public Ownership(IIdempotencyStore store, IIdempotencySequenceStore? sequenceStore, IdempotencyTelemetry telemetry, ResolvedPolicy policy, string key, long fencingToken, bool isStream)
    {
        _store = store;
        _sequenceStore = sequenceStore;
        _telemetry = telemetry;
        _policy = policy;
        _isStream = isStream;
        Key = key;
        FencingToken = fencingToken;
    }

    public string Key { get; }

    public long FencingToken { get; }

    // Store calls after acquisition are never tied to the request's cancellation: a client that went away must
    // not leave a record in flight whose operation already took effect.
    public IdempotencyTelemetry Telemetry => _telemetry;

    public ValueTask<bool> RenewAsync()
        => _isStream
            ? _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _sequenceStore!.RenewSequenceLeaseAsync(Key, FencingToken, _policy.Lease, CancellationToken.None), "renew_sequence")
            : _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _store.RenewLeaseAsync(Key, FencingToken, _policy.Lease, CancellationToken.None), "renew");

    public ValueTask<bool> CompleteAsync(StoredResponse response)
        => _isStream
            ? _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _sequenceStore!.CompleteSequenceAsync(Key, FencingToken, response, _policy.SequenceWindow, _policy.StreamRetention, CancellationToken.None), "complete_sequence")
            : _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _store.CompleteAsync(Key, FencingToken, response, _policy.Retention, CancellationToken.None), "complete");

    public ValueTask<bool> ReleaseAsync()
        => _isStream
            ? _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _sequenceStore!.ReleaseSequenceAsync(Key, FencingToken, CancellationToken.None), "release_sequence")
            : _telemetry.TimeStoreCall(Stopwatch.GetTimestamp(), _store.ReleaseAsync(Key, FencingToken, CancellationToken.None), "release");
}
