using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Idempotency.Diagnostics;

/// <summary>
/// The middleware's log events. Keys are never logged: a record is named by its store key, a SHA-256 of scope and
/// key, which correlates log lines without revealing a client's key or a principal's identity.
/// </summary>
internal static partial class IdempotencyLog
{
    [LoggerMessage(1, LogLevel.Debug, "Idempotency key missing on an endpoint with policy '{Policy}'.", EventName = "KeyMissing")]
    public static partial void KeyMissing(ILogger logger, string policy);

    [LoggerMessage(2, LogLevel.Debug, "Idempotency key malformed on an endpoint with policy '{Policy}'.", EventName = "KeyInvalid")]
    public static partial void KeyInvalid(ILogger logger, string policy);

    // The transitions of a record or stream (3, 4, 9, 10, 13, 18, 30, 34-38) and the rejections that leave it as it
    // is (5, 6) carry the record, the policy, the fencing
    // token where there is one and the trace id explicitly, so one key's story can be rebuilt from plain log lines of
    // several instances, without relying on the provider to write scopes. RecordTransitions raises them.
    [LoggerMessage(3, LogLevel.Debug, "Record {Record} acquired with fencing token {FencingToken}; executing (policy '{Policy}', trace {TraceId}).", EventName = "Executing")]
    public static partial void Executing(ILogger logger, string record, long fencingToken, string policy, string? traceId);

    [LoggerMessage(4, LogLevel.Debug, "Record {Record} replayed its stored response {StatusCode} (policy '{Policy}', trace {TraceId}).", EventName = "Replayed")]
    public static partial void Replayed(ILogger logger, string record, int statusCode, string policy, string? traceId);

    [LoggerMessage(5, LogLevel.Information, "Idempotency key reused with a different request for record {Record} (policy '{Policy}', trace {TraceId}).", EventName = "FingerprintMismatch")]
    public static partial void FingerprintMismatch(ILogger logger, string record, string policy, string? traceId);

    [LoggerMessage(6, LogLevel.Debug, "Request for record {Record} rejected: another request with the same key is in flight (policy '{Policy}', trace {TraceId}).", EventName = "InFlight")]
    public static partial void InFlight(ILogger logger, string record, string policy, string? traceId);

    [LoggerMessage(7, LogLevel.Warning, "Idempotency store unavailable; answering 503 (policy '{Policy}').", EventName = "StoreUnavailable")]
    public static partial void StoreUnavailable(ILogger logger, string policy, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Idempotency store unavailable; running the handler unprotected because policy '{Policy}' fails open.", EventName = "FailOpen")]
    public static partial void FailOpen(ILogger logger, string policy, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Record {Record} taken over: the renewal of fencing token {FencingToken} was refused while its handler ran, so the lease had expired and another request may own the record (policy '{Policy}', trace {TraceId}).", EventName = "LeaseLost")]
    public static partial void LeaseLost(ILogger logger, string record, long fencingToken, string policy, string? traceId);

    [LoggerMessage(10, LogLevel.Warning, "Record {Record} not completed: fencing token {FencingToken} no longer owns it, a newer request does (fenced; policy '{Policy}', trace {TraceId}).", EventName = "CompletionFenced")]
    public static partial void CompletionFenced(ILogger logger, string record, long fencingToken, string policy, string? traceId);

    [LoggerMessage(11, LogLevel.Error, "Storing the response for record {Record} failed; a retry after the lease expires will execute again.", EventName = "CompletionFailed")]
    public static partial void CompletionFailed(ILogger logger, string record, Exception exception);

    [LoggerMessage(12, LogLevel.Error, "Releasing record {Record} failed; a retry waits until the lease expires.", EventName = "ReleaseFailed")]
    public static partial void ReleaseFailed(ILogger logger, string record, Exception exception);

    [LoggerMessage(13, LogLevel.Debug, "Record {Record} released by fencing token {FencingToken} ({Reason}); a retry will execute again (policy '{Policy}', trace {TraceId}).", EventName = "Released")]
    public static partial void Released(ILogger logger, string record, long fencingToken, string reason, string policy, string? traceId);

    [LoggerMessage(14, LogLevel.Information, "Response for record {Record} ({StatusCode}, {Length} bytes) exceeds the snapshot limit; stored without its body.", EventName = "SnapshotTooLarge")]
    public static partial void SnapshotTooLarge(ILogger logger, string record, int statusCode, long length);

    [LoggerMessage(15, LogLevel.Warning, "Renewing the lease of record {Record} failed.", EventName = "LeaseRenewalFailed")]
    public static partial void LeaseRenewalFailed(ILogger logger, string record, Exception exception);

    [LoggerMessage(16, LogLevel.Debug, "Sequence number missing on an endpoint with policy '{Policy}'.", EventName = "SequenceMissing")]
    public static partial void SequenceMissing(ILogger logger, string policy);

    [LoggerMessage(17, LogLevel.Debug, "Sequence headers malformed on an endpoint with policy '{Policy}'.", EventName = "SequenceInvalid")]
    public static partial void SequenceInvalid(ILogger logger, string policy);

    [LoggerMessage(18, LogLevel.Debug, "Sequence number {Number} of stream {Stream} arrived early; last applied is {LastSequence} (policy '{Policy}', trace {TraceId}).", EventName = "SequenceGap")]
    public static partial void SequenceGap(ILogger logger, string stream, long number, long lastSequence, string policy, string? traceId);

    [LoggerMessage(19, LogLevel.Information, "Sequence number {Number} of stream {Stream} was applied and has left the window (last applied {LastSequence}).", EventName = "SequenceAlreadyApplied")]
    public static partial void SequenceAlreadyApplied(ILogger logger, string stream, long number, long lastSequence);

    [LoggerMessage(20, LogLevel.Information, "Request of epoch {Epoch} on stream {Stream} fenced by epoch {CurrentEpoch}.", EventName = "SequenceEpochFenced")]
    public static partial void SequenceEpochFenced(ILogger logger, string stream, long epoch, long currentEpoch);

    [LoggerMessage(21, LogLevel.Debug, "Request body refused by the server with {StatusCode} while fingerprinting (policy '{Policy}').", EventName = "RequestBodyInvalid")]
    public static partial void RequestBodyInvalid(ILogger logger, string policy, int statusCode);

    // Refusals for room are expected answers to the caller's own load, at a rate the caller chooses: like the rate
    // limiter's rejections they log per request at Debug, with the store's reason and no exception, and the request
    // and store-rejection metrics count every one.
    [LoggerMessage(22, LogLevel.Debug, "Idempotency store full; answering 503 without running the handler (policy '{Policy}', fail-open or not): {Reason}", EventName = "StoreFull")]
    public static partial void StoreFull(ILogger logger, string policy, string reason);

    [LoggerMessage(23, LogLevel.Debug, "Request for {Record} refused: its scope holds its quota of the idempotency store; answering 429 (policy '{Policy}'): {Reason}", EventName = "QuotaExceeded")]
    public static partial void QuotaExceeded(ILogger logger, string record, string policy, string reason);

    /// <summary>An unreadable record; one whose protected response cannot be unprotected gets an event of its own, as its fix differs.</summary>
    public static void RecordUnreadable(ILogger logger, string record, string policy, Exception exception)
    {
        if (exception.InnerException is CryptographicException)
        {
            StoredResponseUnprotectFailed(logger, record, policy, exception);
        }
        else
        {
            RecordUnreadableCore(logger, record, policy, exception);
        }
    }

    [LoggerMessage(24, LogLevel.Error, "Record {Record} (policy '{Policy}') cannot be read by this version; answering 500 without running the handler.", EventName = "RecordUnreadable")]
    private static partial void RecordUnreadableCore(ILogger logger, string record, string policy, Exception exception);

    [LoggerMessage(50, LogLevel.Error, "Record {Record} (policy '{Policy}') holds a protected response this instance cannot unprotect: its Data Protection key is not in this instance's key ring (every instance must share one key ring and application name), or the stored bytes were altered. Answering 500 without running the handler.", EventName = "StoredResponseUnprotectFailed")]
    private static partial void StoredResponseUnprotectFailed(ILogger logger, string record, string policy, Exception exception);

    [LoggerMessage(25, LogLevel.Warning, "Record {Record} holds a response encoded as '{Coding}', which the retry does not accept; answering 406. Place response compression before the idempotency middleware so records hold the unencoded response.", EventName = "RepresentationNotAcceptable")]
    public static partial void RepresentationNotAcceptable(ILogger logger, string record, string coding);

    [LoggerMessage(26, LogLevel.Error, "Deciding what to record of {Record} failed after its operation ran; it is recorded as not replayable, so a retry is told it ran and never runs it again.", EventName = "ResponseCaptureFailed")]
    public static partial void ResponseCaptureFailed(ILogger logger, string record, Exception exception);

    [LoggerMessage(27, LogLevel.Error, "The ShouldStoreResponse predicate of policy '{Policy}' threw or did not answer within StoreTimeout for status {StatusCode}; the built-in rule decides instead.", EventName = "StorablePredicateFailed")]
    public static partial void StorablePredicateFailed(ILogger logger, string policy, int statusCode, Exception exception);

    [LoggerMessage(28, LogLevel.Error, "The result of worker operation {Record} could not be serialized after the work ran; it is recorded as not replayable, so a redelivery is told it ran and never runs it again.", EventName = "ResultNotSerializable")]
    public static partial void ResultNotSerializable(ILogger logger, string record, Exception exception);

    [LoggerMessage(29, LogLevel.Warning, "The idempotency middleware uses the in-memory store in the '{Environment}' environment. Its records live in this process only: another instance cannot see them (a retry that reaches it runs its operation again) and a restart forgets them. Use a shared store (AddRedisStore or AddStore), or set InMemoryIdempotencyStoreOptions.EnvironmentCheck to Off for a service that runs as one instance.", EventName = "InMemoryStoreOutsideDevelopment")]
    public static partial void InMemoryStoreOutsideDevelopment(ILogger logger, string environment);

    [LoggerMessage(30, LogLevel.Debug, "The transaction of record {Record} (fencing token {FencingToken}) was rolled back with the handler's writes ({Reason}); a retry will execute again (policy '{Policy}', trace {TraceId}).", EventName = "RolledBack")]
    public static partial void RolledBack(ILogger logger, string record, long fencingToken, string reason, string policy, string? traceId);

    [LoggerMessage(31, LogLevel.Error, "Committing the transaction of record {Record} failed or its outcome is unknown; the client is answered 503, and its retry replays what committed or runs again where nothing did.", EventName = "CommitFailed")]
    public static partial void CommitFailed(ILogger logger, string record, Exception exception);

    [LoggerMessage(32, LogLevel.Error, "The response to record {Record} ({Length} bytes) is larger than MaxSnapshotBytes ({Limit}) of policy '{Policy}', which a transactional policy must hold until its commit; the transaction was rolled back and the client answered 500. Raise MaxSnapshotBytes or make the endpoint's response smaller.", EventName = "ResponseTooLargeToHold")]
    public static partial void ResponseTooLargeToHold(ILogger logger, string record, long length, int limit, string policy, Exception? exception);

    [LoggerMessage(33, LogLevel.Information, "The handler of record {Record} threw and an exception handler placed after the idempotency middleware answered {StatusCode} (policy '{Policy}'); the handler's writes are rolled back with the record and the answer is sent as it is, so a retry executes again. Place UseExceptionHandler before UseIdempotency to have the transaction rolled back before the exception handler runs.", EventName = "ExceptionHandledInside")]
    public static partial void ExceptionHandledInside(ILogger logger, string record, int statusCode, string policy);

    [LoggerMessage(34, LogLevel.Debug, "Record {Record} renewed its lease with fencing token {FencingToken} (policy '{Policy}', trace {TraceId}).", EventName = "LeaseRenewed")]
    public static partial void LeaseRenewed(ILogger logger, string record, long fencingToken, string policy, string? traceId);

    [LoggerMessage(35, LogLevel.Debug, "Record {Record} completed with {StatusCode} by fencing token {FencingToken} (policy '{Policy}', trace {TraceId}).", EventName = "Completed")]
    public static partial void Completed(ILogger logger, string record, int statusCode, long fencingToken, string policy, string? traceId);

    [LoggerMessage(36, LogLevel.Debug, "Sequence number {Number} (epoch {Epoch}) of stream {Stream} acquired with fencing token {FencingToken}; executing (policy '{Policy}', trace {TraceId}).", EventName = "SequenceExecuting")]
    public static partial void SequenceExecuting(ILogger logger, string stream, long number, long epoch, long fencingToken, string policy, string? traceId);

    [LoggerMessage(37, LogLevel.Debug, "Sequence number {Number} (epoch {Epoch}) of stream {Stream} applied with {StatusCode} by fencing token {FencingToken} (policy '{Policy}', trace {TraceId}).", EventName = "SequenceApplied")]
    public static partial void SequenceApplied(ILogger logger, string stream, long number, long epoch, int statusCode, long fencingToken, string policy, string? traceId);

    [LoggerMessage(38, LogLevel.Debug, "Sequence number {Number} (epoch {Epoch}) of stream {Stream} released by fencing token {FencingToken} ({Reason}); a retry will execute again (policy '{Policy}', trace {TraceId}).", EventName = "SequenceReleased")]
    public static partial void SequenceReleased(ILogger logger, string stream, long number, long epoch, long fencingToken, string reason, string policy, string? traceId);

    // Event ids from 40 on belong to hooks and resolvers.
    [LoggerMessage(40, LogLevel.Error, "The idempotency hook {Hook} threw (policy '{Policy}'); the response and the record are unchanged.", EventName = "HookFailed")]
    public static partial void HookFailed(ILogger logger, string hook, string policy, Exception exception);
}
