using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PaymentApi.Payments;

/// <summary>
/// Reports whether the ledger database answers. By default the idempotency records live in that database, so this
/// check covers them too; with Redis, the <c>idempotency-redis</c> check does.
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
