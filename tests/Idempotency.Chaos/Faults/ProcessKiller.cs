using Idempotency.Chaos.Hosting;

namespace Idempotency.Chaos.Faults;

/// <summary>
/// Kills app instances with SIGKILL at random moments (so the kills land mid-handler, between the handler's write and
/// the record's completion, and while the response is on its way) and starts each again at once. A restart takes a
/// while, so the next kill does not wait for it; one instance is always left running.
/// </summary>
public static class ProcessKiller
{
    /// <summary>Kills a random running instance every <paramref name="minGap"/> to <paramref name="maxGap"/> until <paramref name="stop"/>, then waits for the restarts.</summary>
    /// <returns>How many processes were killed.</returns>
    public static async Task<int> KillAndRestartAsync(IReadOnlyList<CrashAppProcess> instances, TimeSpan minGap, TimeSpan maxGap, CancellationToken stop)
    {
        var restarts = new Task?[instances.Count];
        var kills = 0;
        try
        {
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

                var running = new List<int>(instances.Count);
                for (var i = 0; i < instances.Count; i++)
                {
                    if (restarts[i] is null || restarts[i]!.IsCompleted)
                    {
                        if (restarts[i] is { } done)
                        {
                            // A restart that failed fails the scenario here rather than leaving an instance down.
                            await done;
                            restarts[i] = null;
                        }

                        running.Add(i);
                    }
                }

                if (running.Count < 2)
                {
                    continue;
                }

                var victim = running[Random.Shared.Next(running.Count)];
                await instances[victim].KillAsync();
                kills++;
                restarts[victim] = instances[victim].StartAsync();
            }
        }
        finally
        {
            foreach (var restart in restarts)
            {
                if (restart is not null)
                {
                    await restart;
                }
            }
        }
    }
}
