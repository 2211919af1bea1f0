using System.Diagnostics;
using System.Runtime.CompilerServices;
using Idempotency.Diagnostics;
using Idempotency.Policies;
using Microsoft.Extensions.Logging;

namespace Idempotency.Execution;

/// <summary>
/// Keeps an in-flight record owned while its handler (or work) runs by renewing the lease every third of its length. Handlers
/// faster than that never touch the store again; a renewal the store refuses means another request took over, which
/// is logged, and the late completion is then fenced off by the store.
/// </summary>
internal sealed class LeaseRenewal : IAsyncDisposable
{
    private readonly StoreCalls _calls;
    private readonly Ownership _ownership;
    private readonly ResolvedPolicy _policy;
    private readonly ILogger _logger;
    private readonly Activity? _activity;
    private readonly ITimer _timer;
    private int _renewing;
    private Task? _pending;

    public LeaseRenewal(StoreCalls calls, Ownership ownership, ResolvedPolicy policy, TimeProvider timeProvider, ILogger logger, Activity? activity)
    {
        // A tick runs outside the request's flow: the owner's span (or ambient activity) is kept for its transitions.
        _activity = activity;
        _calls = calls;
        _ownership = ownership;
        _policy = policy;
        _logger = logger;
        _timer = timeProvider.CreateTimer(static state => ((LeaseRenewal)state!).OnTick(), this, policy.RenewalInterval, policy.RenewalInterval);
    }

    /// <summary>Whether the store refused a renewal: the record is no longer this request's.</summary>
    public bool Lost { get; private set; }

[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync().ConfigureAwait(false);
        if (Volatile.Read(ref _pending) is { } pending)
        {
            await pending.ConfigureAwait(false);
        }
    }

    private void OnTick()
    {
        // A slow store must not pile up renewals: skip a tick while the previous renewal is still running.
        if (Lost || Interlocked.Exchange(ref _renewing, 1) == 1)
        {
            return;
        }

        Volatile.Write(ref _pending, RenewAsync());
    }

    private async Task RenewAsync()
    {
        try
        {
            var renewed = await _calls.RenewAsync(_ownership, _policy).ConfigureAwait(false);
            if (renewed)
            {
                RecordTransitions.Renewed(_logger, _activity, _ownership, _policy.Name);
            }
            else
            {
                Lost = true;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _calls.Telemetry.LeaseLost();
                RecordTransitions.TakenOver(_logger, _activity, _ownership, _policy.Name);
            }
        }
        catch (Exception ex)
        {
            // The next tick tries again; if the store stays down the lease expires and completion is fenced.
            IdempotencyLog.LeaseRenewalFailed(_logger, _ownership.Key, ex);
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }
}
