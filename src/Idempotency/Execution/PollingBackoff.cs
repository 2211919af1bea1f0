namespace Idempotency.Execution;

/// <summary>
/// Paces a request (or operation) that polls the store for another request to finish (concurrent duplicates in wait mode, early
/// sequence numbers in reorder-wait). Polling through the store works the same for every store and every instance;
/// the doubling delay keeps a long wait to a few store calls per second. A class, not a struct: its async method
/// advances the delay, which a struct would only do on a copy.
/// </summary>
internal sealed class PollingBackoff
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(250);

    private readonly TimeProvider _timeProvider;
    private readonly long _started;
    private TimeSpan _delay;

    public PollingBackoff(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _started = timeProvider.GetTimestamp();
        _delay = FirstDelay;
    }

    /// <summary>
    /// Waits before the next poll; <see langword="false"/> when <paramref name="limit"/>, counted from this backoff's
    /// creation, is used up. The limit may differ from one poll to the next, as what is waited for changes.
    /// </summary>
    public async ValueTask<bool> DelayAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        var remaining = limit - _timeProvider.GetElapsedTime(_started);
        if (remaining <= TimeSpan.Zero)
        {
            return false;
        }

        await Task.Delay(_delay < remaining ? _delay : remaining, _timeProvider, cancellationToken).ConfigureAwait(false);
        _delay = _delay * 2 < MaxDelay ? _delay * 2 : MaxDelay;
        return true;
    }
}
