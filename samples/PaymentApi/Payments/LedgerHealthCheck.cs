using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PaymentApi.Payments;

/// <summary>
/// Reports whether the ledger database answers. The idempotency records live in this process (the in-memory store),
/// so the process answering <c>/health</c> at all covers them.
/// </summary>
internal sealed class LedgerHealthCheck(PaymentLedger ledger) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await ledger.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "The ledger database does not answer.", exception);
        }
    }
}
