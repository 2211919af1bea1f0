namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>Lets time pass on the database's clock, which tests cannot fake.</summary>
internal static class RealTime
{
    // Expiries are whole milliseconds and a timer may fire a little early; the margin covers both.
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(25);

    public static Task WaitAsync(TimeSpan duration) => Task.Delay(duration + Margin);
}
