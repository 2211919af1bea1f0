using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PaymentApi.Health;

/// <summary>
/// Writes <c>/health</c> as JSON naming each check, so an operator sees which dependency failed (the ledger, or Redis
/// when the idempotency records live there) instead of a bare <c>Unhealthy</c>.
/// </summary>
internal static class HealthResponseWriter
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());

            // The description only: exception messages can carry host names and connection details, and /health is
            // open to anonymous callers.
            if (entry.Description is { } description)
            {
                json.WriteString("description", description);
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
