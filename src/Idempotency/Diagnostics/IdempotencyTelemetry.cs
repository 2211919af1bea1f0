using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Idempotency.Execution;

namespace Idempotency.Diagnostics;

/// <summary>
/// Metrics (meter <c>Idempotency</c>) and traces (activity source <c>Idempotency</c>) of the middleware's decisions.
/// Every tag has bounded cardinality: policy names come from configuration, outcomes and operations from enums,
/// the store from its type. Keys, scopes and bodies never become tags.
/// </summary>
internal sealed class IdempotencyTelemetry : IDisposable
{
    public const string MeterName = "Idempotency";
    public const string ActivitySourceName = "Idempotency";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _storeDuration;
    private readonly Counter<long> _lostLeases;
    private readonly Histogram<long> _snapshotSize;
    private readonly Counter<long> _transactions;
    private readonly string _storeName;

    public IdempotencyTelemetry(IMeterFactory meterFactory, string storeName)
    {
        _storeName = storeName;
        _meter = meterFactory.Create(MeterName);
        _requests = _meter.CreateCounter<long>(
            "idempotency.requests", "{request}", "Requests that reached an idempotency policy, by what the middleware decided.");
#if NET9_0_OR_GREATER
        // Store calls take milliseconds; the default buckets (from 5 ms) would put most of them in one bucket.
        _storeDuration = _meter.CreateHistogram<double>(
            "idempotency.store.operation.duration", "s", "Duration of idempotency store operations.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
#else
        _storeDuration = _meter.CreateHistogram<double>(
            "idempotency.store.operation.duration", "s", "Duration of idempotency store operations.");
#endif
        _lostLeases = _meter.CreateCounter<long>(
            "idempotency.leases.lost", "{lease}", "Leases lost while their handler ran: renewals refused and completions fenced off by a newer owner.");
        _snapshotSize = _meter.CreateHistogram<long>(
            "idempotency.snapshot.size", "By", "Size of response bodies captured for replay (bytes written, kept or not).");
        _transactions = _meter.CreateCounter<long>(
            "idempotency.transactions", "{transaction}", "Transactions of transactional policies whose handler ran, by how they ended.");
    }

    public static string OutcomeName(IdempotencyOutcome outcome) => outcome switch
    {
        IdempotencyOutcome.Executed => "executed",
        IdempotencyOutcome.Replayed => "replayed",
        IdempotencyOutcome.Mismatch => "mismatch",
        IdempotencyOutcome.InFlight => "in_flight",
        IdempotencyOutcome.MissingKey => "missing_key",
        IdempotencyOutcome.Invalid => "invalid",
        IdempotencyOutcome.MissingSequence => "missing_sequence",
        IdempotencyOutcome.SequenceGap => "sequence_gap",
        IdempotencyOutcome.AlreadyApplied => "already_applied",
        IdempotencyOutcome.Fenced => "fenced",
        IdempotencyOutcome.NotReplayable => "not_replayable",
        IdempotencyOutcome.StoreUnavailable => "store_unavailable",
        IdempotencyOutcome.FailOpen => "fail_open",
        IdempotencyOutcome.StoreFull => "store_full",
        IdempotencyOutcome.QuotaExceeded => "quota_exceeded",
        IdempotencyOutcome.PassThrough => "pass_through",
        IdempotencyOutcome.RecordUnreadable => "record_unreadable",
        IdempotencyOutcome.NotAcceptable => "not_acceptable",
        _ => "unknown",
    };

    /// <summary>Starts the span of one request's idempotency work, under the server request's span; null when nobody listens.</summary>
    public static Activity? StartRequest(string policy, bool sequenced) => Start(policy, sequenced ? "sequence" : "key");

    /// <summary>Starts the span of one <see cref="IIdempotentExecutor"/> operation (mode <c>worker</c>); null when nobody listens.</summary>
    public static Activity? StartOperation(string policy) => Start(policy, "worker");

    /// <summary>
    /// <paramref name="activity"/> when it is a span of this source that records data (so events on it are kept);
    /// otherwise null.
    /// </summary>
    public static Activity? RecordedSpan(Activity? activity)
        => activity is not null && activity.IsAllDataRequested && ReferenceEquals(activity.Source, Source) ? activity : null;

    public void RecordOutcome(Activity? activity, string policy, IdempotencyOutcome outcome)
    {
        if (_requests.Enabled)
        {
            _requests.Add(1, new KeyValuePair<string, object?>("idempotency.policy", policy), new KeyValuePair<string, object?>("idempotency.outcome", OutcomeName(outcome)));
        }

        activity?.SetTag("idempotency.outcome", OutcomeName(outcome));
    }

    /// <summary>Times one store call (one round trip for a remote store) and records it as a metric and a span event.</summary>
    public ValueTask<T> TimeStoreCall<T>(long startTimestamp, ValueTask<T> call, string operation)
    {
        if (call.IsCompletedSuccessfully)
        {
            RecordStoreCall(operation, startTimestamp, null);
            return call;
        }

        return AwaitStoreCall(call, operation, startTimestamp);
    }

    public void LeaseLost()
    {
        if (_lostLeases.Enabled)
        {
            _lostLeases.Add(1, new KeyValuePair<string, object?>("idempotency.store", _storeName));
        }
    }

    public void SnapshotCaptured(string policy, long bytes)
    {
        if (_snapshotSize.Enabled)
        {
            _snapshotSize.Record(bytes, new KeyValuePair<string, object?>("idempotency.policy", policy));
        }
    }

    /// <summary>Counts how the transaction of a transactional policy's executed request ended, and tags its span with it.</summary>
    public void TransactionEnded(Activity? activity, string policy, ExecutionEnd end)
    {
        var result = end switch
        {
            ExecutionEnd.Committed => "committed",
            ExecutionEnd.RolledBack => "rolled_back",
            ExecutionEnd.ResponseNotHeld => "response_too_large",
            _ => "commit_failed",
        };
        if (_transactions.Enabled)
        {
            _transactions.Add(1, new KeyValuePair<string, object?>("idempotency.policy", policy), new KeyValuePair<string, object?>("idempotency.transaction.result", result));
        }

        activity?.SetTag("idempotency.transaction.result", result);
    }

    public void Dispose() => _meter.Dispose();

    private static Activity? Start(string policy, string mode)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("idempotency", ActivityKind.Internal);
        activity?.SetTag("idempotency.policy", policy);
        activity?.SetTag("idempotency.mode", mode);
        return activity;
    }

[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> AwaitStoreCall<T>(ValueTask<T> call, string operation, long startTimestamp)
    {
        try
        {
            var result = await call.ConfigureAwait(false);
            RecordStoreCall(operation, startTimestamp, null);
            return result;
        }
        catch (Exception ex)
        {
            RecordStoreCall(operation, startTimestamp, ex.GetType().FullName);
            throw;
        }
    }

    private void RecordStoreCall(string operation, long startTimestamp, string? errorType)
    {
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp);
        if (_storeDuration.Enabled)
        {
            var tags = new TagList
            {
                { "idempotency.store.operation", operation },
                { "idempotency.store", _storeName },
            };
            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            _storeDuration.Record(elapsed.TotalSeconds, tags);
        }

        if (Activity.Current is { } activity && ReferenceEquals(activity.Source, Source))
        {
            var tags = new ActivityTagsCollection
            {
                { "idempotency.store.operation", operation },
                { "duration_ms", elapsed.TotalMilliseconds },
            };
            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            activity.AddEvent(new ActivityEvent("idempotency.store.call", tags: tags));
        }
    }
}
