using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PaymentApi.Payments;

namespace PaymentApi.Tests;

public sealed class HealthTests(PaymentApiFactory factory) : IClassFixture<PaymentApiFactory>
{
    [Fact]
    public async Task Health_is_200_Healthy_without_authentication()
    {
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Ledger_check_is_unhealthy_when_the_database_has_no_payments_table()
    {
        var path = Path.Combine(Path.GetTempPath(), $"paymentapi-tests-{Guid.NewGuid():N}.db");
        try
        {
            // Never initialized: the file opens, the table is missing.
            var check = new LedgerHealthCheck(new PaymentLedger($"Data Source={path}", TimeProvider.System));
            var context = new HealthCheckContext { Registration = new HealthCheckRegistration("ledger", check, HealthStatus.Unhealthy, tags: null) };

            var result = await check.CheckHealthAsync(context);

            Assert.Equal(HealthStatus.Unhealthy, result.Status);
            Assert.NotNull(result.Exception);
        }
        finally
        {
            TempDatabase.Delete(path);
        }
    }
}
