using Idempotency.Chaos.Hosting;

namespace Idempotency.Chaos.Faults;

/// <summary>
/// Kills app instances with SIGKILL at random moments (so the kills land mid-handler, between the handler's write and
/// the record's completion, and while the response is on its way) and starts each again at once. One instance is
/// down at a time: the next kill waits for the restart, so the others keep serving.
/// </summary>
public static class ProcessKiller
{
    /// <summary>
    /// Kills a random instance <paramref name="minGap"/> to <paramref name="maxGap"/> after the last one is back,
    /// until <paramref name="stop"/>; an instance killed is always started again, whatever <paramref name="stop"/> says.
    /// </summary>
    /// <returns>How many processes were killed.</returns>
    public static async Task<int> KillAndRestartAsync(IReadOnlyList<CrashAppProcess> instances, TimeSpan minGap, TimeSpan maxGap, CancellationToken stop)
    {
        var kills = 0;
        while (true)
        {
            var gap = minGap + ((maxGap - minGap) * Random.Shared.NextDouble());
            try
            {
                await Task.Delay(gap, stop);
            }
            catch (OperationCanceledException)
            {
                return kills;
            }

            var victim = instances[Random.Shared.Next(instances.Count)];
            await victim.KillAsync();
            kills++;
            await victim.StartAsync();
        }
    }
}
