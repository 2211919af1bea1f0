namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// The request's transaction (or its begin still under way), held in the request's scope so that the scope's disposal
/// ends it before it disposes the request's context. A caller may stop waiting for a begin it cancelled (the middleware
/// bounds a begin with a token and answers at once): the begin then still runs on the context, and without this the
/// scope would dispose the context mid-open or mid-statement ("Can't close, connection is in state Connecting") or
/// return a connection to the pool with a transaction that nobody rolls back.
/// </summary>
/// <remarks>
/// Scoped, and resolved right after the request's context: a scope disposes its services in the reverse order of their
/// creation, so this is disposed before the context.
/// </remarks>
internal sealed class RequestTransactionHolder : IAsyncDisposable, IDisposable
{
    private Task<EntityFrameworkCoreStoreTransaction>? _begin;

    /// <summary>Holds <paramref name="begin"/> until the scope ends.</summary>
    public void Hold(Task<EntityFrameworkCoreStoreTransaction> begin) => _begin = begin;

    public async ValueTask DisposeAsync()
    {
        if (_begin is not { } begin)
        {
            return;
        }

        _begin = null;
        EntityFrameworkCoreStoreTransaction transaction;
        try
        {
            transaction = await begin.ConfigureAwait(false);
        }
        catch
        {
            // The begin failed, and cleaned up after itself before it ended; its caller saw (or dropped) the error.
            return;
        }

        // Waits for a statement still running, then rolls back unless committed; a transaction disposed already returns at once.
        await transaction.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// For a scope disposed synchronously (ASP.NET Core disposes request scopes asynchronously): a service that is only
    /// <see cref="IAsyncDisposable"/> would make such a disposal throw.
    /// </summary>
    public void Dispose()
    {
        if (_begin is not null)
        {
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
