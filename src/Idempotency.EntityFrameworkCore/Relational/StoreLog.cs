using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// The Entity Framework Core store's log events. Their ids are stable, and apart from the middleware's (1 and up) and
/// the Redis store's (1001 and up), so that alerts can match them.
/// </summary>
internal static partial class StoreLog
{
    public const int PurgeFailedId = 2001;
    public const int PurgedId = 2002;
    public const int RollbackFailedId = 2003;

    [LoggerMessage(PurgeFailedId, LogLevel.Warning,
        "Purging expired idempotency records of {Context} failed; the next round tries again. Expired rows never answer requests, they only take space.",
        EventName = "PurgeFailed")]
    public static partial void PurgeFailed(ILogger logger, string context, Exception exception);

    [LoggerMessage(PurgedId, LogLevel.Debug,
        "Purged {Records} expired idempotency records and {Streams} expired streams of {Context}.",
        EventName = "Purged")]
    public static partial void Purged(ILogger logger, long records, long streams, string context);

    [LoggerMessage(RollbackFailedId, LogLevel.Warning,
        "Rolling back a request's idempotency transaction on {Context} failed; the database rolls back a transaction whose connection is lost.",
        EventName = "RollbackFailed")]
    public static partial void RollbackFailed(ILogger logger, string context, Exception exception);
}
