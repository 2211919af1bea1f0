using System.Diagnostics;
using Idempotency.Execution;
using Microsoft.Extensions.Logging;

namespace Idempotency.Diagnostics;

/// <summary>
/// Each transition of a record or stream (acquired, renewed, completed, released, taken over, fenced, replayed; for a
/// stream acquired, applied, gap, released) as one log event of <see cref="IdempotencyLog"/> and one event on the
/// request's <c>idempotency</c> span, both naming the record by its store key (a hash of scope and key, never the
/// key) with the policy, the fencing token and, in the log, the trace id of the request that caused it. The
/// rejections that leave a record as it is (a key reused for another request, a duplicate in flight) are logged the
/// same way, so a record's log lines tell its whole story.
/// </summary>
/// <remarks>
/// Nothing is allocated when the log level is off and the span is not recorded: the trace id is read only for an
/// enabled event (the activity caches its hex form), and span events are built only for a span that records data.
/// </remarks>
internal static class RecordTransitions
{
    public static void Acquired(ILogger logger, Activity? activity, in Ownership ownership, string policy)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            if (ownership.IsStream)
            {
                IdempotencyLog.SequenceExecuting(logger, ownership.Key, ownership.Number, ownership.Epoch, ownership.FencingToken, policy, TraceId(activity));
            }
            else
            {
                IdempotencyLog.Executing(logger, ownership.Key, ownership.FencingToken, policy, TraceId(activity));
            }
        }

        AddEvent(activity, ownership.IsStream ? "idempotency.stream.acquired" : "idempotency.record.acquired", ownership, policy);
    }

    public static void Renewed(ILogger logger, Activity? activity, in Ownership ownership, string policy)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            IdempotencyLog.LeaseRenewed(logger, ownership.Key, ownership.FencingToken, policy, TraceId(activity));
        }

        AddEvent(activity, ownership.IsStream ? "idempotency.stream.renewed" : "idempotency.record.renewed", ownership, policy);
    }

    public static void Completed(ILogger logger, Activity? activity, in Ownership ownership, string policy, int statusCode)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            if (ownership.IsStream)
            {
                IdempotencyLog.SequenceApplied(logger, ownership.Key, ownership.Number, ownership.Epoch, statusCode, ownership.FencingToken, policy, TraceId(activity));
            }
            else
            {
                IdempotencyLog.Completed(logger, ownership.Key, statusCode, ownership.FencingToken, policy, TraceId(activity));
            }
        }

        AddEvent(activity, ownership.IsStream ? "idempotency.stream.applied" : "idempotency.record.completed", ownership, policy, statusCode);
    }

    /// <summary>The record was released (or, under a transactional policy, rolled back with the handler's writes).</summary>
    public static void Released(ILogger logger, Activity? activity, in Ownership ownership, string policy, string reason)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            if (ownership.Transaction is not null)
            {
                IdempotencyLog.RolledBack(logger, ownership.Key, ownership.FencingToken, reason, policy, TraceId(activity));
            }
            else if (ownership.IsStream)
            {
                IdempotencyLog.SequenceReleased(logger, ownership.Key, ownership.Number, ownership.Epoch, ownership.FencingToken, reason, policy, TraceId(activity));
            }
            else
            {
                IdempotencyLog.Released(logger, ownership.Key, ownership.FencingToken, reason, policy, TraceId(activity));
            }
        }

        AddEvent(activity, ownership.IsStream ? "idempotency.stream.released" : "idempotency.record.released", ownership, policy, reason: reason);
    }

    /// <summary>A renewal was refused: the lease had expired and another request may have taken the record over.</summary>
    public static void TakenOver(ILogger logger, Activity? activity, in Ownership ownership, string policy)
    {
        if (logger.IsEnabled(LogLevel.Warning))
        {
            IdempotencyLog.LeaseLost(logger, ownership.Key, ownership.FencingToken, policy, TraceId(activity));
        }

        AddEvent(activity, ownership.IsStream ? "idempotency.stream.taken_over" : "idempotency.record.taken_over", ownership, policy);
    }

    /// <summary>A completion the store refused because a newer request owns the record.</summary>
    public static void Fenced(ILogger logger, Activity? activity, in Ownership ownership, string policy)
    {
        if (logger.IsEnabled(LogLevel.Warning))
        {
            IdempotencyLog.CompletionFenced(logger, ownership.Key, ownership.FencingToken, policy, TraceId(activity));
        }

        AddEvent(activity, ownership.IsStream ? "idempotency.stream.fenced" : "idempotency.record.fenced", ownership, policy);
    }

    public static void Replayed(ILogger logger, Activity? activity, string record, string policy, int statusCode)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            IdempotencyLog.Replayed(logger, record, statusCode, policy, TraceId(activity));
        }

        if (IdempotencyTelemetry.RecordedSpan(activity) is { } span)
        {
            span.AddEvent(new ActivityEvent("idempotency.record.replayed", tags: new ActivityTagsCollection
            {
                { "idempotency.record", record },
                { "idempotency.policy", policy },
                { "http.response.status_code", statusCode },
            }));
        }
    }

    public static void SequenceGap(ILogger logger, Activity? activity, string stream, long number, long lastSequence, string policy)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            IdempotencyLog.SequenceGap(logger, stream, number, lastSequence, policy, TraceId(activity));
        }

        if (IdempotencyTelemetry.RecordedSpan(activity) is { } span)
        {
            span.AddEvent(new ActivityEvent("idempotency.stream.gap", tags: new ActivityTagsCollection
            {
                { "idempotency.record", stream },
                { "idempotency.policy", policy },
                { "idempotency.sequence.number", number },
                { "idempotency.sequence.last", lastSequence },
            }));
        }
    }

    /// <summary>A request rejected because its key was used for a different request; the record is unchanged.</summary>
    public static void Mismatch(ILogger logger, Activity? activity, string record, string policy)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            IdempotencyLog.FingerprintMismatch(logger, record, policy, TraceId(activity));
        }
    }

    /// <summary>A duplicate rejected while the record is in flight; the record is unchanged.</summary>
    public static void InFlight(ILogger logger, Activity? activity, string record, string policy)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            IdempotencyLog.InFlight(logger, record, policy, TraceId(activity));
        }
    }

    // A worker outside any trace has no activity: its events say "(null)" rather than a made-up id.
    private static string? TraceId(Activity? activity) => activity?.TraceId.ToHexString();

    private static void AddEvent(Activity? activity, string name, in Ownership ownership, string policy, int statusCode = 0, string? reason = null)
    {
        if (IdempotencyTelemetry.RecordedSpan(activity) is not { } span)
        {
            return;
        }

        var tags = new ActivityTagsCollection
        {
            { "idempotency.record", ownership.Key },
            { "idempotency.policy", policy },
            { "idempotency.fencing_token", ownership.FencingToken },
        };
        if (ownership.IsStream)
        {
            tags.Add("idempotency.sequence.number", ownership.Number);
            tags.Add("idempotency.sequence.epoch", ownership.Epoch);
        }

        if (statusCode != 0)
        {
            tags.Add("http.response.status_code", statusCode);
        }

        if (reason is not null)
        {
            tags.Add("idempotency.release.reason", reason);
        }

        span.AddEvent(new ActivityEvent(name, tags: tags));
    }
}
