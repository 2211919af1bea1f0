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

    /// <summary>Transactional policies: the commit of the handler's writes with the record failed, or its outcome is unknown.</summary>
    public static readonly IdempotencyProblem CommitFailed = new(
        "idempotency-commit-failed", StatusCodes.Status503ServiceUnavailable, "Changes not committed",
        "The request ran, but its changes could not be committed, or whether they were is unknown. Retry with the same key after the time given in Retry-After: a committed request is replayed, one that was not runs again.");

    /// <summary>Transactional policies: the response was too large to hold until the commit, so everything was rolled back.</summary>
    public static readonly IdempotencyProblem ResponseTooLarge = new(
        "idempotency-response-too-large", StatusCodes.Status500InternalServerError, "Response too large to hold",
        "The request ran, but its response was larger than this endpoint can hold until its changes commit, so they were rolled back: nothing changed. Retrying will fail the same way.");

    public static readonly IdempotencyProblem RecordUnreadable = new(
        "idempotency-record-unreadable", StatusCodes.Status500InternalServerError, "Idempotency record unreadable",
        "A record exists for this request but this server cannot read it (for example one written by a newer version during an upgrade). The request was not processed again; retry later.");

    public static readonly IdempotencyProblem RepresentationNotAcceptable = new(
        "idempotency-representation-not-acceptable", StatusCodes.Status406NotAcceptable, "Recorded representation not acceptable",
        "The recorded response to this request is encoded as '{0}', which this request's Accept-Encoding does not accept. Retry accepting '{0}'; the operation will not run again.");

    public static readonly IdempotencyProblem StoreFull = new(
        "idempotency-store-full", StatusCodes.Status503ServiceUnavailable, "Idempotency store full",
        "The request was not processed because the idempotency store has no room for a new record; stored records make room as they expire. Retry with the same key after the time given in Retry-After.");

    public static readonly IdempotencyProblem QuotaExceeded = new(
        "idempotency-quota-exceeded", StatusCodes.Status429TooManyRequests, "Idempotency quota exceeded",
        "The request was not processed because the idempotency records kept for you have reached your quota; they make room as they expire. Retry with the same key after the time given in Retry-After.");

    public static readonly IdempotencyProblem SequenceNumberMissing = new(
        "sequence-number-missing", StatusCodes.Status428PreconditionRequired, "Sequence number missing",
        "This endpoint requires a sequence number; send the request's position in its stream in the {0} header.");

    public static readonly IdempotencyProblem SequenceNumberInvalid = new(
        "sequence-number-invalid", StatusCodes.Status400BadRequest, "Sequence header invalid",
        "{0} must be a decimal integer from 1 to 9223372036854775807, {1} one from 0, and {2} 1 to 128 visible ASCII characters; each header at most once.");

    public static readonly IdempotencyProblem SequenceStreamInvalid = new(
        "sequence-stream-invalid", StatusCodes.Status400BadRequest, "Sequence stream invalid",
        "The sequence stream this endpoint takes from the request (for example from a route value) must be 1 to {0} characters long.");

    public static readonly IdempotencyProblem SequenceEpochFenced = new(
        "sequence-epoch-fenced", StatusCodes.Status409Conflict, "Sequence epoch fenced",
        "A newer incarnation of this client has taken over the stream; requests of an older epoch are refused. See currentEpoch.");

    public static readonly IdempotencyProblem SequenceAlreadyApplied = new(
        "sequence-already-applied", StatusCodes.Status409Conflict, "Sequence number already applied",
        "This sequence number was applied long enough ago that its response is no longer kept. It will not be applied again.");

    public static readonly IdempotencyProblem SequenceGap = new(
        "sequence-gap", StatusCodes.Status409Conflict, "Sequence gap",
        "Earlier sequence numbers of this stream have not been applied yet. Send expectedSequence first, then retry this request.");

    /// <summary>Sent with the status of the server's refusal (413 over the body size limit, 400 for malformed framing).</summary>
    public static readonly IdempotencyProblem RequestBodyInvalid = new(
        "request-body-invalid", StatusCodes.Status400BadRequest, "Request body invalid",
        "The request body could not be read, so the request was not processed: {0}");

    /// <summary>Admin endpoints: a lookup or option the endpoint cannot use.</summary>
    public static readonly IdempotencyProblem AdminRequestInvalid = new(
        "admin-request-invalid", StatusCodes.Status400BadRequest, "Admin request invalid", "{0}");

    /// <summary>Admin endpoints: nothing live under the record or stream looked up.</summary>
    public static readonly IdempotencyProblem AdminNotFound = new(
        "admin-not-found", StatusCodes.Status404NotFound, "Nothing stored",
        "The store holds no {0} {1}: it was never created, or was released, expired, deleted or reset.");

    /// <summary>Admin endpoints: contents asked for by a caller who may not see them.</summary>
    public static readonly IdempotencyProblem AdminContentForbidden = new(
        "admin-content-forbidden", StatusCodes.Status403Forbidden, "Contents not shown",
        "Stored bodies, scopes and keys are shown only to callers who satisfy the admin content authorization policy{0}. Ask without 'include' to see status, headers, size and hash.");

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
