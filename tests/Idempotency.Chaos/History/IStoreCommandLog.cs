namespace Idempotency.Chaos.History;

/// <summary>
/// The store's own log of the commands it processed, with its own times mapped onto the run's clock (Redis's MONITOR
/// feed): when the command that granted a lease, and every later command carrying its fencing token, reached the store.
/// Those are tighter evidence than the recorder's view of a call, which includes the network and scheduling both ways.
/// </summary>
public interface IStoreCommandLog
{
    /// <summary>Whether the log holds every command the store processed from <paramref name="from"/> to <paramref name="to"/> (no gap in its feed).</summary>
    bool Covers(TimeSpan from, TimeSpan to);

    /// <summary>The store's times of every command that carried <paramref name="token"/>, in order; empty when none was seen.</summary>
    IReadOnlyList<TimeSpan> TimesOf(long token);
}
