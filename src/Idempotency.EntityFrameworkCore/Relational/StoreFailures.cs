using System.Data.Common;
using Idempotency.Storage;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// The one classification of database failures into "cannot serve now" (wrapped as
/// <see cref="IdempotencyStoreUnavailableException"/>: the middleware answers 503 or fails open) and everything else
/// (propagated as a server error). Cancellation by the caller is never unavailability.
/// </summary>
internal static class StoreFailures
{
    public static bool IsUnavailable(SqlDialect dialect, Exception exception, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested && exception is OperationCanceledException)
        {
            return false;
        }

        return exception switch
        {
            DbException db => dialect.IsUnavailable(db),
            TimeoutException => true,
            _ => exception.InnerException is DbException inner && dialect.IsUnavailable(inner),
        };
    }

    public static IdempotencyStoreUnavailableException Unavailable(Exception exception)
        => new($"The idempotency store's database cannot be reached or cannot serve now: {exception.Message}", exception);
}
