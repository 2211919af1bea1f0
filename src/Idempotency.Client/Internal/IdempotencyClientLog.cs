using Microsoft.Extensions.Logging;

namespace Idempotency.Client.Internal;

/// <summary>Log messages of the client handler, with stable event ids.</summary>
internal static partial class IdempotencyClientLog
{
    // Keys and sequence numbers are left out: like the server, the client never logs what identifies an operation.
    [LoggerMessage(EventId = 1, EventName = "RetryingAfterProblem", Level = LogLevel.Information,
        Message = "{Method} request answered {StatusCode} {ProblemType}; retrying with the same key in {Delay} (attempt {NextAttempt} of {MaxAttempts})")]
    public static partial void RetryingAfterProblem(ILogger logger, HttpMethod method, int statusCode, string problemType, TimeSpan delay, int nextAttempt, int maxAttempts);
}
