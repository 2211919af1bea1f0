using System.Diagnostics;
using Xunit;

namespace Idempotency.Testing;

/// <summary>
/// Runs a conformance step that must land within a short lease. On a real clock a paused machine (a loaded CI box
/// with a few cores) can answer the step only after the lease could have ended; such an attempt proves nothing either
/// way, so it is run again on fresh keys instead of failing or passing. An attempt that was on time asserts in full.
/// A fake clock never pauses, so there every first attempt counts.
/// </summary>
internal static class OnTimeAttempts
{
    private const int Attempts = 5;

    /// <param name="attempt">
    /// One attempt, given a stopwatch started before its first store call. It returns false, before asserting
    /// anything that depends on the timing, when the stopwatch shows the step came too late to prove anything.
    /// </param>
    public static async Task RunAsync(Func<Stopwatch, Task<bool>> attempt)
    {
        for (var i = 0; i < Attempts; i++)
        {
            if (await attempt(Stopwatch.StartNew()))
            {
                return;
            }
        }

        Assert.Fail($"In each of {Attempts} attempts the machine paused past the short lease before the step that must land within it: nothing was proven.");
    }
}
