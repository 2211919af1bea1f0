using System.Diagnostics;
using FsCheck.Fluent;

namespace Idempotency.Testing.Properties;

/// <summary>
/// On a real clock, makes sure no short duration could have run out between two advances without the model knowing:
/// a run whose steps since the last advance took longer than the profile's budget is discarded (FsCheck draws another),
/// never judged.
/// </summary>
internal sealed class RealTimeGuard
{
    private readonly TimeSpan? _budget;
    private readonly PropertyStatistics _statistics;
    private readonly Stopwatch _sinceAdvance = Stopwatch.StartNew();

    public RealTimeGuard(PropertyTimeProfile profile, bool timeSensitive, PropertyStatistics statistics)
    {
        // Untimed runs on a real clock use durations far longer than any run: a slow machine cannot change their outcome.
        _budget = timeSensitive ? profile.RealTimeBudget : null;
        _statistics = statistics;
    }

    public void Advanced() => _sinceAdvance.Restart();

    /// <summary>Called after each store call, before its answer is judged.</summary>
    public void Check()
    {
        if (_budget is { } budget && _sinceAdvance.Elapsed > budget)
        {
            _statistics.Discard();
            // Throws: FsCheck counts the run as discarded and draws another.
            Prop.Discard<bool>();
        }
    }
}
