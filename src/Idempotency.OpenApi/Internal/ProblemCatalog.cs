namespace Idempotency.OpenApi.Internal;

/// <summary>One problem the middleware answers with: its name (the last part of its <c>type</c>), status and when it happens.</summary>
internal sealed class ProblemKind(string name, int status, string when)
{
    public string Name { get; } = name;

    public int Status { get; } = status;

    /// <summary>Markdown; <c>{key}</c>, <c>{number}</c>, <c>{epoch}</c> and <c>{stream}</c> stand for the configured header names.</summary>
    public string When { get; } = when;
}

/// <summary>
/// The problem responses of SPEC §3–§5, as the OpenAPI document describes them. The names are the public contract
/// (they end every problem <c>type</c>), so they are spelled out here rather than read from the middleware's internals.
/// </summary>
internal static class ProblemCatalog
{
    public static readonly ProblemKind KeyMissing = new(
        "idempotency-key-missing", 400, "the request has no `{key}` header, and this endpoint requires one.");

    public static readonly ProblemKind KeyInvalid = new(
        "idempotency-key-invalid", 400, "the `{key}` header is empty, malformed, too long or sent more than once.");

    public static readonly ProblemKind ResolvedKeyMissing = new(
        "idempotency-key-missing", 400, "the request carries no idempotency key where this endpoint takes it from (a route value, a member of the body or a header of its own), and this endpoint requires one.");

    public static readonly ProblemKind ResolvedKeyInvalid = new(
        "idempotency-key-invalid", 400, "the idempotency key this endpoint takes from the request is malformed or too long.");

    public static readonly ProblemKind SequenceInvalid = new(
        "sequence-number-invalid", 400, "`{number}`, `{epoch}` or `{stream}` is malformed or sent more than once.");

    public static readonly ProblemKind SequenceStreamInvalid = new(
        "sequence-stream-invalid", 400, "the sequence stream this endpoint takes from the request (for example a route value) is empty or longer than 1024 characters.");

    public static readonly ProblemKind RequestBodyInvalid = new(
        "request-body-invalid", 400, "the server refused to read the request body (malformed framing); a body over the server's size limit gets `413` with this type.");

    public static readonly ProblemKind InFlight = new(
        "idempotency-request-in-flight", 409, "a request with the same key (or sequence number) is still being processed; retry it after `Retry-After`.");

    public static readonly ProblemKind NotReplayable = new(
        "idempotency-response-not-replayable", 409, "the request with this key was executed, but its response was too large to keep; it will not run again (extension `originalStatus`).");

    public static readonly ProblemKind EpochFenced = new(
        "sequence-epoch-fenced", 409, "a newer epoch of the client has taken over the stream (extension `currentEpoch`).");

    public static readonly ProblemKind AlreadyApplied = new(
        "sequence-already-applied", 409, "the sequence number was applied and its response is no longer kept; it will not be applied again (extension `lastSequence`).");

    public static readonly ProblemKind Gap = new(
        "sequence-gap", 409, "earlier sequence numbers of the stream have not been applied yet (extensions `expectedSequence`, `lastSequence`).");

    public static readonly ProblemKind KeyReused = new(
        "idempotency-key-reused", 422, "the key (or sequence number) was already used for a different request: method, path, query, content type or body differ.");

    public static readonly ProblemKind SequenceMissing = new(
        "sequence-number-missing", 428, "the request has no `{number}` header, and this endpoint requires one.");

    public static readonly ProblemKind QuotaExceeded = new(
        "idempotency-quota-exceeded", 429, "the records kept for this caller have reached its quota of the store (in-memory store, `MaxBytesPerScope`); the request was not processed. Retry with the same key after `Retry-After`.");

    public static readonly ProblemKind StoreUnavailable = new(
        "idempotency-store-unavailable", 503, "idempotency records cannot be checked right now; the request was not processed. Retry with the same key after `Retry-After`.");

    public static readonly ProblemKind StoreFull = new(
        "idempotency-store-full", 503, "the store has no room for a new record (in-memory store, `SizeLimitBytes`); the request was not processed, even under a fail-open policy. Retry with the same key after `Retry-After`.");

    /// <summary>The problems a request to an endpoint under <paramref name="policy"/> can get, in status order.</summary>
    public static List<ProblemKind> For(IdempotencyPolicy policy)
    {
        var sequence = policy.SequenceRequirement != SequenceRequirement.Off;
        var problems = new List<ProblemKind>(14);
        var resolved = policy.KeyResolver is not null;
        if (policy.KeyRequirement == KeyRequirement.Required && policy.SequenceRequirement != SequenceRequirement.Required)
        {
            problems.Add(resolved ? ResolvedKeyMissing : KeyMissing);
        }

        problems.Add(resolved ? ResolvedKeyInvalid : KeyInvalid);
        if (sequence)
        {
            problems.Add(SequenceInvalid);
            if (policy.SequenceStreamResolver is not null)
            {
                problems.Add(SequenceStreamInvalid);
            }
        }

        // Only a fingerprint or a key resolver that reads the body can meet one the server refuses to read.
        if ((policy.FingerprintComponents & FingerprintComponents.Body) != 0 || resolved)
        {
            problems.Add(RequestBodyInvalid);
        }

        problems.Add(InFlight);
        problems.Add(NotReplayable);
        if (sequence)
        {
            problems.Add(EpochFenced);
            problems.Add(AlreadyApplied);
            problems.Add(Gap);
        }

        problems.Add(KeyReused);
        if (policy.SequenceRequirement == SequenceRequirement.Required)
        {
            problems.Add(SequenceMissing);
        }

        // Room is not reachability: a full store or a scope at its quota is refused under any policy.
        problems.Add(QuotaExceeded);

        // A policy that fails open runs the handler when the store is down instead of answering 503.
        if (!policy.FailOpen)
        {
            problems.Add(StoreUnavailable);
        }

        problems.Add(StoreFull);

        return problems;
    }
}
