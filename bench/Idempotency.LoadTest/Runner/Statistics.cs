namespace Idempotency.LoadTest.Runner;

/// <summary>A figure over a run's rounds: its median, and a 95 % confidence interval of its mean.</summary>
/// <param name="Median">The median over rounds (what the tables quote).</param>
/// <param name="Low">Lower end of the 95 % Student t-interval of the mean over rounds (at least 0); <see langword="null"/> with fewer than two rounds.</param>
/// <param name="High">Upper end of that interval.</param>
public sealed record Interval(double Median, double? Low, double? High);

/// <summary>Medians and confidence intervals over rounds.</summary>
public static class Statistics
{
    // Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom; above 30, the normal's 1.96 is close enough.
    private static readonly double[] T975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>
    /// The median of <paramref name="values"/> and the 95 % t-interval of their mean: mean ± t(0.975, n − 1) · s / √n.
    /// Rounds are treated as independent samples (each round runs every scenario once, in a rotated order).
    /// </summary>
    public static Interval Of(IReadOnlyCollection<double> values)
    {
        var median = Median(values);
        var n = values.Count;
        if (n < 2)
        {
            return new Interval(median, null, null);
        }

        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        var half = (n - 1 <= T975.Length ? T975[n - 2] : 1.96) * Math.Sqrt(variance / n);

        // Every figure it is used for (requests/s, ratios, CPU, allocations) is non-negative: with few rounds the
        // interval can reach below 0, which says only that the rounds disagree.
        return new Interval(median, Math.Max(0, mean - half), mean + half);
    }

    public static Interval? OfKnown(IEnumerable<double?> values)
    {
        var known = values.Where(v => v is not null).Select(v => v!.Value).ToArray();
        return known.Length == 0 ? null : Of(known);
    }
}
