namespace Idempotency.Client.Tests.Infrastructure;

/// <summary>
/// Sits inside the resilience handler (next to the wire) and spoils the first attempt in a way the client cannot tell
/// from a network failure, after the server has received the request.
/// </summary>
public sealed class FaultInjectingHandler(Func<HttpRequestMessage, Task<HttpResponseMessage>, Task> firstAttempt) : DelegatingHandler
{
    private int _attempts;

    /// <summary>How many attempts reached this handler.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _attempts) > 1)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        // Not tied to the attempt's token: the resilience handler abandons this attempt, the server carries on.
        var sending = base.SendAsync(request, CancellationToken.None);
        await firstAttempt(request, sending);
        throw new HttpRequestException("The connection was reset before the response arrived (simulated).");
    }
}
