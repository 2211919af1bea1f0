namespace Idempotency.Chaos.History;

/// <summary>
/// Ties the store's calls for one request to that request's execution. Set by the app before the idempotency
/// middleware runs, so it flows into the middleware's store calls and into the handler; the handler fills in
/// <see cref="Execution"/>, and the recording store reads it when the middleware completes or releases the record.
/// </summary>
public sealed class RequestTrace
{
    private static readonly AsyncLocal<RequestTrace?> CurrentTrace = new();

    public static RequestTrace? Current
    {
        get => CurrentTrace.Value;
        set => CurrentTrace.Value = value;
    }

    public ExecutionRecord? Execution { get; set; }
}
