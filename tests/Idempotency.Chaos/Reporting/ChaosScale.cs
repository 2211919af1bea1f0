namespace Idempotency.Chaos.Reporting;

/// <summary>
/// Scenario sizes. The default suite runs small counts (a few seconds per scenario); <c>IDEMPOTENCY_CHAOS=full</c>
/// (set by <c>./build.sh chaos</c>) runs the published figures.
/// </summary>
public static class ChaosScale
{
    public static bool IsFull { get; } = string.Equals(Environment.GetEnvironmentVariable("IDEMPOTENCY_CHAOS"), "full", StringComparison.OrdinalIgnoreCase);

    public static string Name => IsFull ? "full" : "small";

    public static int Pick(int small, int full) => IsFull ? full : small;

    public static TimeSpan Pick(TimeSpan small, TimeSpan full) => IsFull ? full : small;
}
