namespace Idempotency.LoadTest.Runner;

/// <summary>
/// CPU ticks of the app under test, of redis-server, and of the whole machine (busy time of all cores, which adds wrk
/// and the kernel's networking to the two): read at one moment (<see cref="Read"/>), or spent between two readings
/// (<see cref="Since"/>). <see langword="null"/> where not readable.
/// </summary>
public sealed record CpuUse(long? AppTicks, long? RedisTicks, long? MachineBusyTicks)
{
    public static CpuUse Read(int appProcessId, int redisProcessId)
        => new(CpuTicks.OfProcess(appProcessId), CpuTicks.OfProcess(redisProcessId), CpuTicks.OfMachine()?.Busy);

    public CpuUse Since(CpuUse earlier)
        => new(AppTicks - earlier.AppTicks, RedisTicks - earlier.RedisTicks, MachineBusyTicks - earlier.MachineBusyTicks);
}
