using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Idempotency.CrashTest.App;

/// <summary>Stops the app once the process that started it has exited, so that a crashed harness leaves no instance running.</summary>
public sealed class ParentWatch(IOptions<CrashOptions> options, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var parent = options.Value.ParentProcessId;
        if (parent <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!IsAlive(parent))
            {
                lifetime.StopApplication();
                return;
            }
        }
    }

    private static bool IsAlive(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
