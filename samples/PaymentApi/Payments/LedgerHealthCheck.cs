using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PaymentApi.Payments;

/// <summary>
/// Reports whether the ledger database answers. With the in-memory store the idempotency records live in this process,
/// so the process answering <c>/health</c> at all covers them; with Redis, the <c>idempotency-redis</c> check does.
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
