using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PaymentApi.Payments;

namespace PaymentApi.Tests;

public sealed class HealthTests(PaymentApiFactory factory) : IClassFixture<PaymentApiFactory>
{
    [Fact]
    public async Task Health_is_200_Healthy_without_authentication_and_names_the_ledger_check()
    {
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var health = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        Assert.Equal("Healthy", health.GetProperty("checks").GetProperty("ledger").GetProperty("status").GetString());

        // Without ConnectionStrings:Redis the records are in the ledger's database: there is no Redis to check.
        Assert.False(health.GetProperty("checks").TryGetProperty("idempotency-redis", out _));
    }

    [Fact]
    public async Task Ledger_check_is_unhealthy_when_the_database_has_no_payments_table()
    {
        var path = Path.Combine(Path.GetTempPath(), $"paymentapi-tests-{Guid.NewGuid():N}.db");
        try
        {
            // Never initialized: the file opens, the table is missing.
            await using var ledger = TestLedgers.CreateContext($"Data Source={path}");
            var check = new LedgerHealthCheck(new PaymentLedger(ledger, TimeProvider.System));
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
