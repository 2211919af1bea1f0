namespace Idempotency.Chaos.Hosting;

/// <summary>
/// How a harness client retries an operation that is not answered yet (no response, 503, 409 in flight): like a real
/// client, but pausing at most <see cref="MaxPause"/> instead of the whole Retry-After, to keep the pressure on.
/// </summary>
public sealed record RetryPolicy(TimeSpan Deadline, TimeSpan MaxPause)
{
    /// <summary>
    /// Whether any 5xx is retried too, as a client that wants an answer at any cost would; the checker still counts
    /// each one as a violation unless it is a 503 store-unavailable.
    /// </summary>
    public bool RetryServerErrors { get; init; }

    public static RetryPolicy Patient { get; } = new(TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));

    /// <summary>One attempt only: the control run and raw probes.</summary>
    public static RetryPolicy Once { get; } = new(TimeSpan.Zero, TimeSpan.Zero);
}
