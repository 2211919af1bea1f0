using System.Net;
using Microsoft.AspNetCore.Hosting;
using static PaymentApi.Tests.PaymentRequests;

namespace PaymentApi.Tests;

/// <summary>
/// The sample outside Development: no admin endpoints at all, and the demo operator's key (named only in
/// appsettings.Development.json) authenticates nobody.
/// </summary>
public sealed class ProductionAdminTests(ProductionAdminTests.ProductionFactory factory) : IClassFixture<ProductionAdminTests.ProductionFactory>
{
    [Fact]
    public async Task In_production_the_admin_endpoints_are_not_mapped_and_the_demo_keys_authenticate_nobody()
    {
        using var ops = factory.CreateClient("sk_test_ops");

        using var record = await ops.GetAsync("/admin/idempotency/records?scope=sub:alice&key=order-1001");
        using var delete = await ops.DeleteAsync("/admin/idempotency/records/" + new string('A', 64));
        using var payment = await ops.PostPaymentAsync(NewKey(), Body(1001));

        // Mapped, the endpoints would answer an unauthenticated caller 401; unmapped, the path is not found.
        Assert.Equal(HttpStatusCode.NotFound, record.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, payment.StatusCode);
    }

    /// <summary>The sample as it starts in Production.</summary>
    public sealed class ProductionFactory : PaymentApiFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseEnvironment("Production");
        }
    }
}
