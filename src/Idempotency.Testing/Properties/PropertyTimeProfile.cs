using System.Globalization;

namespace Idempotency.Testing.Properties;

/// <summary>
/// Which leases, retentions and time advances the generated sequences use: a store whose clock the test controls is
/// checked to the tick, a store on real time (Redis) only where real time cannot blur the outcome.
/// </summary>
public sealed class PropertyTimeProfile
{
    private PropertyTimeProfile(
        string description, TimeSpan[] timedDurations, TimeSpan untimedDuration, TimeSpan[] advances, int advanceWeight, int timedPercent, TimeSpan? realTimeBudget)
    {
        Description = description;
        TimedDurations = timedDurations;
        UntimedDuration = untimedDuration;
        Advances = advances;
        AdvanceWeight = advanceWeight;
        TimedPercent = timedPercent;
        RealTimeBudget = realTimeBudget;
    }

    /// <summary>
    /// For a store on a fake clock: leases and retentions of 1 to 30 s and advances of 0.5 to 3 s anywhere in a sequence,
    /// so expiries fall before, between and exactly on operations (the model's boundary: over at <c>start + duration</c>).
    /// </summary>
    public static PropertyTimeProfile FakeClock { get; } = new(
        "fake clock: leases/retentions 1-30 s, advances 0.5-3 s anywhere, exact boundaries",
        
        // 30 s twice: most streams outlive a sequence's advances and get far enough to meet windows and epochs.
        [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)],
        TimeSpan.Zero,
        [TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)],
        advanceWeight: 8,
        timedPercent: 100,
        realTimeBudget: null);

    /// <summary>Every lease and retention outlives the run and time never advances: everything but expiry.</summary>
    public static PropertyTimeProfile Timeless { get; } = new(
        "timeless: every lease/retention 10 min, no advances",
        [],
        TimeSpan.FromMinutes(10),
        [],
        advanceWeight: 0,
        timedPercent: 0,
        realTimeBudget: null);

    /// <summary>The durations of timed sequences; empty when the profile has none.</summary>
    internal IReadOnlyList<TimeSpan> TimedDurations { get; }

    /// <summary>The one duration of untimed sequences: longer than any run.</summary>
    internal TimeSpan UntimedDuration { get; }

    /// <summary>What an advance may let pass.</summary>
    internal IReadOnlyList<TimeSpan> Advances { get; }

    /// <summary>How often an advance is picked among the other operations; 0 when a timed sequence has exactly one (<see cref="RealClock"/>).</summary>
    internal int AdvanceWeight { get; }

    /// <summary>The share of sequences, in percent, that use <see cref="TimedDurations"/> and advances.</summary>
    internal int TimedPercent { get; }

    /// <summary>
    /// On a real clock: how long the operations between two advances may take before a short duration could have run
    /// out unseen by the model; a run that takes longer is discarded, not failed. Null on a fake clock.
    /// </summary>
    internal TimeSpan? RealTimeBudget { get; }

    public string Description { get; }

    /// <summary>
    /// For a store on real time. Durations are <paramref name="shortDuration"/> or 10 minutes; a timed sequence (a
    /// <paramref name="timedPercent"/> share) holds exactly one advance that waits <paramref name="advance"/>, well past
    /// every short duration and far from every long one; untimed sequences use only long durations. Nothing is ever
    /// checked near a boundary: a short duration is over after the advance and still running before it (runs whose
    /// operations between advances take more than half of <paramref name="shortDuration"/> are discarded).
    /// </summary>
    public static PropertyTimeProfile RealClock(TimeSpan shortDuration, TimeSpan advance, int timedPercent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(advance, shortDuration * 2);
        return new(
            $"real clock: durations {Format(shortDuration)} or 10 min, {timedPercent}% of sequences with one {Format(advance)} wait",
            [shortDuration, TimeSpan.FromMinutes(10)],
            TimeSpan.FromMinutes(10),
            [advance],
            advanceWeight: 0,
            timedPercent,
            shortDuration / 2);
    }

    internal static string Format(TimeSpan duration)
        => duration.TotalMinutes >= 1
            ? duration.TotalMinutes.ToString(CultureInfo.InvariantCulture) + " min"
            : duration.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s";

    public override string ToString() => Description;
}
