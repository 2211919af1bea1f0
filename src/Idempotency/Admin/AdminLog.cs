using Microsoft.Extensions.Logging;

namespace Idempotency.Admin;

/// <summary>
/// The admin endpoints' log events. A record or stream is named by its id (its store key, the hash the transition
/// events of <see cref="Diagnostics.IdempotencyLog"/> carry), never by the scope or key an operator typed: those
/// identify a customer and belong in the operator's own notes, not in every log reader's view.
/// </summary>
internal static partial class AdminLog
{
    [LoggerMessage(100, LogLevel.Information, "Idempotency admin {Action} of {Target} by '{Caller}': {Result}.", EventName = "AdminAction")]
    public static partial void Action(ILogger logger, string action, string target, string caller, string result);

    [LoggerMessage(101, LogLevel.Warning, "Idempotency admin {Action} of {Target} by '{Caller}' failed: the store is unavailable.", EventName = "AdminStoreUnavailable")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception, string action, string target, string caller);

    [LoggerMessage(102, LogLevel.Error, "Idempotency admin {Action} of {Target} by '{Caller}' failed: the store holds something this version cannot read.", EventName = "AdminUnreadable")]
    public static partial void Unreadable(ILogger logger, Exception exception, string action, string target, string caller);
}
