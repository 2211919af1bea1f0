using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// Tells a Redis failure that means "cannot serve now" (the middleware answers 503, or fails open) from one that means
/// something is wrong with a record, a script or the configuration (a server error that never fails open).
/// </summary>
internal static class RedisFailures
{
    // Error codes of replies with which a healthy server refuses work for now: out of memory under noeviction, a
    // replica that was a primary before a failover, a dataset still loading, a replica cut off from its primary, a
    // long-running script, a cluster without a quorum or in the middle of a resharding, too few replicas for
    // min-replicas-to-write, a failing RDB save that stops writes. NOAUTH, WRONGPASS, NOPERM, WRONGTYPE and script errors
    // are left out: they do not heal by waiting, so failing open on them would run handlers unprotected until a person acts.
    private static readonly string[] UnavailableCodes = ["OOM", "READONLY", "LOADING", "MASTERDOWN", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS", "MISCONF"];

    // Redis before 7.0 reports an error a command raised inside a script as "ERR Error running script (call to f_...):
    // @user_script:1: -OOM command not allowed ...": the code follows this marker.
    private const string ScriptErrorPrefix = "ERR Error running script";
    private const string InnerErrorMarker = ": -";

    private const string PipelinesAssembly = "System.IO.Pipelines";

    /// <summary>Whether <paramref name="exception"/> means that Redis cannot be reached or cannot serve now.</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        // A refused login (wrong or rotated password, missing ACL rights) also surfaces as a connection failure, but it
        // does not heal by waiting either: failing open on it would run every handler unprotected until a person acts.
        RedisConnectionException connection => !IsAuthenticationFailure(connection),

        // RedisTimeoutException is a TimeoutException. A disposed connection is an application shutting down.
        TimeoutException or ObjectDisposedException => true,
        RedisServerException server => IsUnavailableReply(server.Message),

        // A connection reset while a command was being written can reach the caller as the socket's own error, or as the
        // refusal of the connection's completed pipe to take more bytes, instead of a RedisConnectionException. Only
        // that refusal: any other InvalidOperationException (such as the eviction-policy refusal) is not a lost link.
        IOException or System.Net.Sockets.SocketException => true,
        InvalidOperationException { Source: PipelinesAssembly } => true,
        _ => false,
    };

    /// <summary>
    /// Whether <paramref name="exception"/>, thrown by a command sent for a caller holding <paramref name="callerToken"/>,
    /// means that Redis cannot be reached or cannot serve now: <see cref="IsUnavailable(Exception)"/>, or a command the
    /// client abandoned itself.
    /// </summary>
    public static bool IsUnavailable(Exception exception, CancellationToken callerToken)
        => IsAbandonedByClient(exception, callerToken) || IsUnavailable(exception);

    /// <summary>
    /// Whether a command was cancelled by StackExchange.Redis rather than by its caller: the client cancels the commands
    /// it gives up on when their connection fails (seen when a proxy reset the connections), so no answer will come.
    /// </summary>
    public static bool IsAbandonedByClient(Exception exception, CancellationToken callerToken)
        => exception is OperationCanceledException && !callerToken.IsCancellationRequested;

    /// <summary>Whether a connection failed because Redis refused the credentials, as opposed to being out of reach.</summary>
    internal static bool IsAuthenticationFailure(RedisConnectionException exception)
    {
        if (exception.FailureType == ConnectionFailureType.AuthenticationFailure)
        {
            return true;
        }

        // StackExchange.Redis reports a NOAUTH or WRONGPASS reply to its handshake inside the message of a
        // connection failure of another type (UnableToResolvePhysicalConnection); the inner exceptions can carry it too.
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            var message = current.Message;
            if (message.Contains("NOAUTH", StringComparison.Ordinal)
                || message.Contains("WRONGPASS", StringComparison.Ordinal)
                || message.Contains("NOPERM", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a server's error reply (without the leading <c>-</c>) refuses work only for now.</summary>
    internal static bool IsUnavailableReply(string message)
    {
        var code = message.AsSpan();
        if (code.StartsWith(ScriptErrorPrefix, StringComparison.Ordinal))
        {
            var marker = code.IndexOf(InnerErrorMarker, StringComparison.Ordinal);
            if (marker < 0)
            {
                return false;
            }

            code = code[(marker + InnerErrorMarker.Length)..];
        }

        var space = code.IndexOf(' ');
        if (space >= 0)
        {
            code = code[..space];
        }

        foreach (var unavailable in UnavailableCodes)
        {
            if (code.SequenceEqual(unavailable))
            {
                return true;
            }
        }

        return false;
    }
}
