namespace Idempotency.Chaos.History;

/// <summary>
/// The lease an execution ran under, as the recorder saw it on the run's one clock (<see cref="HistoryRecorder.Now"/>):
/// the earliest moment the store can have granted it and the latest moment it can have ended. Both are bounds the
/// recorder can prove from the calls it timed, whatever the store's own clock says (one machine: no skew).
/// </summary>
public sealed class LeaseRecord
{
    private readonly Lock _gate = new();
    private TimeSpan? _end;

    /// <param name="duration">The lease the begin call asked for.</param>
    /// <param name="grantedAfter">When the begin call that was granted the lease started (plus the least time it provably took to reach the store).</param>
    /// <param name="end">When that call returned (less the least time the answer provably took) plus the lease it asked for.</param>
    public LeaseRecord(TimeSpan grantedAfter, TimeSpan end, TimeSpan duration = default)
    {
        GrantedAfter = grantedAfter;
        Duration = duration;
        _end = end;
    }

    /// <summary>The begin call's start (plus any latency it provably spent on its way): the store cannot have granted the lease before it.</summary>
    public TimeSpan GrantedAfter { get; }

    /// <summary>The lease the begin call (and every renewal) asked for.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The store's own log the <see cref="StoreTimes"/> come from; null when there is none.</summary>
    public IStoreCommandLog? Log { get; private set; }

    /// <summary>
    /// When the store processed the command that granted the lease (first) and every later command carrying its token
    /// (renewals, completion, release), on the run's clock, as its own log shows; empty when there is no log.
    /// </summary>
    public IReadOnlyList<TimeSpan> StoreTimes { get; private set; } = [];

    /// <summary>Attaches the store's log of this lease's commands.</summary>
    public void Logged(IStoreCommandLog log, IReadOnlyList<TimeSpan> times)
    {
        Log = log;
        StoreTimes = times;
    }

    /// <summary>
    /// The latest moment the lease can have lasted to: the end of the last call that could have extended it plus the
    /// lease it asked for; null when that is unknown (a renewal whose answer never came may land at any time).
    /// </summary>
    public TimeSpan? End
    {
        get
        {
            lock (_gate)
            {
                return _end;
            }
        }
    }

    /// <summary>A renewal the store accepted, answered at <paramref name="answeredAt"/>, holds the lease until then plus <paramref name="lease"/>.</summary>
    public void Extend(TimeSpan answeredAt, TimeSpan lease)
    {
        lock (_gate)
        {
            if (_end is { } end && answeredAt + lease > end)
            {
                _end = answeredAt + lease;
            }
        }
    }

    /// <summary>A renewal without an answer may have extended the lease to any moment: its end is no longer known.</summary>
    public void Forget()
    {
        lock (_gate)
        {
            _end = null;
        }
    }

    public override string ToString()
        => $"lease granted after {Format(GrantedAfter)}, ended by {(End is { } end ? Format(end) : "(unknown)")}";

    internal static string Format(TimeSpan time) => $"{time.TotalSeconds.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)} s";
}
