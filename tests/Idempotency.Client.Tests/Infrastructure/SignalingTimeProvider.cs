using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Client.Tests.Infrastructure;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that reports every timer created on it, so a test advances the clock only once the
/// code under test is actually waiting (no sleeps, no polling).
/// </summary>
public sealed class SignalingTimeProvider : FakeTimeProvider
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(10);

    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _timers.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>Waits until a timer with the given due time has been created (timers with other due times are skipped).</summary>
    public async Task WaitForTimerAsync(TimeSpan dueTime)
    {
        using var timeout = new CancellationTokenSource(SignalTimeout);
        while (await _timers.Reader.ReadAsync(timeout.Token) != dueTime)
        {
        }
    }
}
