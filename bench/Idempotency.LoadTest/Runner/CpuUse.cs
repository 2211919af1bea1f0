namespace Idempotency.LoadTest.Runner;

/// <summary>
/// CPU ticks spent while wrk ran one scenario: by the app under test, by redis-server, and by the whole machine (busy
/// time of all cores, which adds wrk and the kernel's networking to the two). <see langword="null"/> where not readable.
/// </summary>
public sealed record CpuUse(long? AppTicks, long? RedisTicks, long? MachineBusyTicks)
{
    public static CpuUse Between((long? App, long? Redis, (long Busy, long Total)? Machine) before, (long? App, long? Redis, (long Busy, long Total)? Machine) after)
        => new(after.App - before.App, after.Redis - before.Redis, after.Machine?.Busy - before.Machine?.Busy);

    public static (long? App, long? Redis, (long Busy, long Total)? Machine) Read(int appProcessId, int redisProcessId)
        => (CpuTicks.OfProcess(appProcessId), CpuTicks.OfProcess(redisProcessId), CpuTicks.OfMachine());
}
