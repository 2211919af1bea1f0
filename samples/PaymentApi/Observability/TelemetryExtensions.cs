using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace PaymentApi.Observability;

/// <summary>
/// OpenTelemetry for the sample: the idempotency middleware's metrics and traces (meter and activity source
/// <c>Idempotency</c>) next to ASP.NET Core's, exported only where the configuration asks for it. See docs/observability.md.
/// </summary>
internal static class TelemetryExtensions
{
    /// <summary>The meter and the activity source of the idempotency middleware.</summary>
    public const string IdempotencySource = "Idempotency";

    /// <summary>Writes metrics and traces to the console when <c>true</c> (env <c>Telemetry__Console</c>).</summary>
    public const string ConsoleSetting = "Telemetry:Console";

    /// <summary>The standard OpenTelemetry variable; when set, metrics, traces and logs go there over OTLP.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Adds OpenTelemetry with the exporters the configuration names. With none (the default) nothing is registered:
    /// no listener, no exporter, a quiet <c>dotnet run</c>; <c>dotnet-counters</c> still sees the meters.
    /// </summary>
    public static WebApplicationBuilder AddPaymentApiTelemetry(this WebApplicationBuilder builder)
    {
        var console = builder.Configuration.GetValue<bool>(ConsoleSetting);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointSetting]);
        if (!console && !otlp)
        {
            return builder;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read after the default name, win over it.
            .ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName).AddEnvironmentVariableDetector())
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddMeter(IdempotencySource);
                if (console)
                {
                    metrics.AddConsoleExporter();
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation().AddSource(IdempotencySource);
                if (console)
                {
                    tracing.AddConsoleExporter();
                }

                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            });

        // Logs already reach the console through the default logger; over OTLP they join their traces.
        if (otlp)
        {
            telemetry.WithLogging(logging => logging.AddOtlpExporter());
        }

        return builder;
    }
}
