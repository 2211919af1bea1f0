namespace Idempotency.Chaos.History;

/// <summary>
/// Ties the store's calls for one request to that request's execution. Set by the app before the idempotency
/// middleware runs, so it flows into the middleware's begin call and into the handler: the recording store puts the
/// lease it saw granted in <see cref="Lease"/>, the handler puts its execution in <see cref="Execution"/> (and hands it
/// the lease). Later calls for the same ownership (renew, complete, release) are matched by key and fencing token,
/// not by this trace: a renewal timer need not run in the request's flow.
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

    public LeaseRecord? Lease { get; set; }
}
