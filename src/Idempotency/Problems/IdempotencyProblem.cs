using Microsoft.AspNetCore.Http;

namespace Idempotency.Problems;

/// <summary>One kind of problem response: its name (the last part of its <c>type</c>), status and title.</summary>
internal sealed class IdempotencyProblem
{
    public static readonly IdempotencyProblem KeyMissing = new(
        "idempotency-key-missing", StatusCodes.Status400BadRequest, "Idempotency key missing",
        "This endpoint requires an idempotency key; send one in the {0} header and reuse it when retrying.");

    public static readonly IdempotencyProblem KeyInvalid = new(
        "idempotency-key-invalid", StatusCodes.Status400BadRequest, "Idempotency key invalid",
        "The {0} header must hold one key of 1 to {1} visible ASCII characters, as a token or a quoted string.");

    public static readonly IdempotencyProblem KeyReused = new(
        "idempotency-key-reused", StatusCodes.Status422UnprocessableEntity, "Idempotency key reused",
        "This idempotency key was already used for a different request (method, path, query, content type or body differ). Use a new key for a new operation.");

    public static readonly IdempotencyProblem RequestInFlight = new(
        "idempotency-request-in-flight", StatusCodes.Status409Conflict, "Request in flight",
        "A request with this idempotency key is still being processed. Retry after the time given in Retry-After.");

    public static readonly IdempotencyProblem ResponseNotReplayable = new(
        "idempotency-response-not-replayable", StatusCodes.Status409Conflict, "Response not replayable",
        "The request with this idempotency key was executed, but its response was too large to keep and cannot be replayed. The operation will not run again.");

    public static readonly IdempotencyProblem StoreUnavailable = new(
        "idempotency-store-unavailable", StatusCodes.Status503ServiceUnavailable, "Idempotency store unavailable",
        "The request was not processed because idempotency records cannot be checked right now. Retry with the same key after the time given in Retry-After.");

    private IdempotencyProblem(string name, int status, string title, string detail)
    {
        Name = name;
        Status = status;
        Title = title;
        Detail = detail;
    }

    public string Name { get; }

    public int Status { get; }

    public string Title { get; }

    /// <summary>The detail text; may hold composite-format placeholders filled per problem.</summary>
    public string Detail { get; }
}
