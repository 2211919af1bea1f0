using System.Diagnostics.Metrics;
using Idempotency.Diagnostics;

namespace Idempotency.Admin;

/// <summary>
/// The counter of admin actions, on the library's meter: <c>idempotency.admin.actions</c>, tagged with the action
/// (<c>inspect_record</c>, <c>delete_record</c>, <c>inspect_stream</c>, <c>reset_stream</c>) and its result.
/// </summary>
internal sealed class AdminMetrics
{
    private readonly Counter<long> _actions;

    public AdminMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(IdempotencyTelemetry.MeterName);
        _actions = meter.CreateCounter<long>(
            "idempotency.admin.actions", "{action}", "Actions on the idempotency admin endpoints, by action and result.");
    }

    public void Record(string action, string result)
    {
        if (_actions.Enabled)
        {
            _actions.Add(1, new KeyValuePair<string, object?>("idempotency.admin.action", action), new KeyValuePair<string, object?>("idempotency.admin.result", result));
        }
    }
}
