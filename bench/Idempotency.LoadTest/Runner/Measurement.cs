namespace Idempotency.LoadTest.Runner;

/// <summary>One wrk run of one scenario, with what the app, Redis and PostgreSQL counted meanwhile.</summary>
public sealed record Measurement(
    Scenario Scenario,
    int Round,
    WrkResult Wrk,
    long AppRequests,
    long HandlerExecutions,
    long AllocatedBytes,
    long PeakWorkingSetBytes,
    int Gen2Collections,
    IReadOnlyDictionary<string, long>? RedisCommands,
    IReadOnlyDictionary<string, long>? SqlStatements,
    CpuUse Cpu)
{
    public double AllocatedBytesPerRequest => AppRequests == 0 ? 0 : (double)AllocatedBytes / AppRequests;

    /// <summary>CPU microseconds per request the app served: of the app, of the store's server (Redis or PostgreSQL), and of the whole machine (wrk and the kernel included).</summary>
    public (double? App, double? Server, double? Machine) CpuMicrosecondsPerRequest => AppRequests == 0
        ? (null, null, null)
        : (Cpu.AppTicks * CpuTicks.MicrosecondsPerTick / AppRequests,
            Cpu.ServerTicks * CpuTicks.MicrosecondsPerTick / AppRequests,
            Cpu.MachineBusyTicks * CpuTicks.MicrosecondsPerTick / AppRequests);

    public double ExecutionsPerRequest => AppRequests == 0 ? 0 : (double)HandlerExecutions / AppRequests;

    /// <summary>Commands a client sent to Redis per request: round trips, not the commands scripts ran inside Redis.</summary>
    public double? RoundTripsPerRequest => RedisCommands is null || AppRequests == 0
        ? null
        : (double)RedisCommands.Where(c => !RedisServer.ScriptInternal.Contains(c.Key)).Sum(c => c.Value) / AppRequests;

    /// <summary>Statements clients sent to the scenario's PostgreSQL database per request (<c>pg_stat_statements</c> calls, <c>BEGIN</c> and <c>COMMIT</c> included).</summary>
    public double? StatementsPerRequest => SqlStatements is null || AppRequests == 0 ? null : (double)SqlStatements.Values.Sum() / AppRequests;
}
