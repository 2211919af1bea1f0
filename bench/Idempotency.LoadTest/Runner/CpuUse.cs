namespace Idempotency.LoadTest.Runner;

/// <summary>
/// CPU ticks of the app under test, of the store's server (redis-server, or PostgreSQL's postmaster and backends), and
/// of the whole machine (busy time of all cores, which adds wrk and the kernel's networking to the two): read at one
/// moment (<see cref="Read"/>), or spent between two readings (<see cref="Since"/>). <see langword="null"/> where not
/// readable.
/// </summary>
public sealed record CpuUse(long? AppTicks, long? ServerTicks, long? MachineBusyTicks)
{
    public static CpuUse Read(int appProcessId, long? serverTicks)
        => new(CpuTicks.OfProcess(appProcessId), serverTicks, CpuTicks.OfMachine()?.Busy);

    public CpuUse Since(CpuUse earlier)
        => new(AppTicks - earlier.AppTicks, ServerTicks - earlier.ServerTicks, MachineBusyTicks - earlier.MachineBusyTicks);
}
