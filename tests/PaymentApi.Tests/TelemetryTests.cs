using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using PaymentApi.Observability;

namespace PaymentApi.Tests;

public sealed class TelemetryTests
{
    [Fact]
    public void Without_configuration_no_OpenTelemetry_provider_is_registered()
    {
        using var factory = new TelemetryFactory(console: "false", otlpEndpoint: "");

        Assert.Null(factory.Services.GetService<TracerProvider>());
        Assert.Null(factory.Services.GetService<MeterProvider>());
    }

    [Fact]
    public void Console_setting_registers_metrics_and_tracing()
    {
        using var factory = new TelemetryFactory(console: "true", otlpEndpoint: "");

        Assert.NotNull(factory.Services.GetService<TracerProvider>());
        Assert.NotNull(factory.Services.GetService<MeterProvider>());
    }

    /// <summary>Pins both settings, so that an OTEL_EXPORTER_OTLP_ENDPOINT in the developer's environment changes nothing.</summary>
    private sealed class TelemetryFactory(string console, string otlpEndpoint) : PaymentApiFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting(TelemetryExtensions.ConsoleSetting, console);
            builder.UseSetting(TelemetryExtensions.OtlpEndpointSetting, otlpEndpoint);
        }
    }
}
