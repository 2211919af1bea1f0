using System.Globalization;
using System.Text;

namespace Idempotency.Testing.Properties;

/// <summary>What a property's runs exercised: how often each operation met each outcome, so a report shows the generators reach every case.</summary>
internal sealed class PropertyStatistics
{
    private readonly SortedDictionary<string, int> _outcomes = new(StringComparer.Ordinal);

    public int Sequences { get; private set; }

    public int Operations { get; private set; }

    /// <summary>Runs dropped because the real clock ran past the profile's budget (a busy machine), neither passed nor failed.</summary>
    public int Discarded { get; private set; }

    /// <summary>Sequences that let time pass (an advance) and were judged to their end: the ones that can find an expiry bug.</summary>
    public int JudgedTimed { get; private set; }

    public IReadOnlyDictionary<string, int> Outcomes => _outcomes;

    public void StartSequence() => Sequences++;

    public void Discard() => Discarded++;

    /// <summary>Called when a sequence ran to its end without a difference and without being discarded.</summary>
    public void EndSequence(bool timed)
    {
        if (timed)
        {
            JudgedTimed++;
        }
    }

    public void Count(string outcome)
    {
        Operations++;
        _outcomes[outcome] = _outcomes.GetValueOrDefault(outcome) + 1;
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Sequences} sequences (shrinking included), {Operations} operations, {Discarded} discarded, {JudgedTimed} judged with time passing");
        foreach (var (outcome, count) in _outcomes)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n  {outcome}: {count}");
        }

        return text.ToString();
    }
}
