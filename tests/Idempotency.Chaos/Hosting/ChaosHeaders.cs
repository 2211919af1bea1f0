namespace Idempotency.Chaos.Hosting;

/// <summary>Headers the harness's clients send so that handlers can record whose request they run.</summary>
public static class ChaosHeaders
{
    /// <summary>The principal; the app turns it into the <c>sub</c> claim the middleware scopes records by.</summary>
    public const string Principal = "X-Principal";

    /// <summary>The client's name for the logical operation, which the handler records with its execution.</summary>
    public const string Operation = "X-Operation";

    public const string RequestId = "X-Request-Id";

    /// <summary>A response header naming the execution that wrote it (instance and request id), replayed with it.</summary>
    public const string Execution = "X-Chaos-Execution";
}
