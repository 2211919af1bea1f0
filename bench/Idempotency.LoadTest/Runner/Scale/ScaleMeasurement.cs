namespace Idempotency.LoadTest.Runner.Scale;

/// <summary>
/// One wrk run of the scale run (a fill window, or a checkpoint's replay or first-execution measurement), with what
/// the app process did meanwhile.
/// </summary>
/// <param name="Kind"><c>fill</c>, <c>replay</c> or <c>first</c>.</param>
/// <param name="KeySource">The unique keys' prefix (<c>prefix-thread-n</c>), or the replay keys' file.</param>
/// <param name="ReplayKeys">The stored keys a replay measurement cycled through (0 for first executions).</param>
/// <param name="RecordsBefore">Records in the store when the run started (Redis: <c>DBSIZE</c>; memory: records written).</param>
/// <param name="RecordsAfter">Records in the store when it ended.</param>
/// <param name="Wrk">wrk's result.</param>
/// <param name="AppRequests">Requests the app completed (wrk counts only the ones it saw answered).</param>
/// <param name="HandlerExecutions">Handler executions: a replay that ran the handler found no record (or an evicted one).</param>
/// <param name="AppCpuTicks">The app process's CPU ticks (10 ms) over the run.</param>
/// <param name="ServerCpuTicks">redis-server's, for the Redis phase.</param>
/// <param name="Gen0Collections">Collections of the app process over the run, per generation.</param>
/// <param name="Gen1Collections">As above.</param>
/// <param name="Gen2Collections">As above.</param>
/// <param name="GcPauseMilliseconds">Time the app process's threads were paused by the GC over the run.</param>
/// <param name="ElapsedSeconds">Since the scale run started, at the end of this run.</param>
public sealed record ScaleMeasurement(
    string Kind,
    string KeySource,
    int ReplayKeys,
    long RecordsBefore,
    long RecordsAfter,
    WrkResult Wrk,
    long AppRequests,
    long HandlerExecutions,
    long? AppCpuTicks,
    long? ServerCpuTicks,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    double GcPauseMilliseconds,
    double ElapsedSeconds)
{
    public double Seconds => Wrk.DurationMicroseconds / 1_000_000.0;

    /// <summary>Whether every request wrk sent was answered 2xx, so that every key it completed is stored.</summary>
    public bool Clean => Wrk.StatusErrors == 0 && Wrk.SocketErrors == 0;

    /// <summary>
    /// Replays only: the share of the replayed keys whose request ran the handler, because their record was gone
    /// (evicted). Each such key runs once, then its new record replays, so executions per request understate it.
    /// </summary>
    public double? ReplayKeysExecuted => ReplayKeys > 0 ? Math.Min(1, (double)HandlerExecutions / ReplayKeys) : null;

    public double? ExecutionsPerRequest => AppRequests > 0 ? (double)HandlerExecutions / AppRequests : null;

    public double? AppCpuMicrosecondsPerRequest => AppCpuTicks is { } ticks && AppRequests > 0 ? ticks * CpuTicks.MicrosecondsPerTick / AppRequests : null;

    public double? ServerCpuMicrosecondsPerRequest => ServerCpuTicks is { } ticks && AppRequests > 0 ? ticks * CpuTicks.MicrosecondsPerTick / AppRequests : null;

    /// <summary>Share of the run's wall time the app's threads were paused by the GC.</summary>
    public double PauseShare => Seconds > 0 ? GcPauseMilliseconds / 1000 / Seconds : 0;
}
