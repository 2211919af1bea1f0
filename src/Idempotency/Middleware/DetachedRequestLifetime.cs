using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.Middleware;

/// <summary>
/// The request lifetime a handler of a recorded request sees: <see cref="RequestAborted"/> does not fire when the
/// client goes away, only when the server itself gives up (a request timeout, the application stopping). Once a keyed
/// request's handler has started, its side effects may have happened; cancelling it half-way and releasing the record
/// would let the client's retry run the operation a second time, so the handler runs to its end and its outcome is
/// recorded, as payment APIs do. <see cref="Abort"/> still aborts the connection.
/// </summary>
internal sealed class DetachedRequestLifetime : IHttpRequestLifetimeFeature
{
    private readonly IHttpRequestLifetimeFeature _connection;

    public DetachedRequestLifetime(IHttpRequestLifetimeFeature connection)
    {
        _connection = connection;
    }

    /// <summary>The server's own limits, never a disconnect; a handler or middleware may still set its own token.</summary>
    public CancellationToken RequestAborted { get; set; }

    public void Abort() => _connection.Abort();
}
