using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Idempotency.Diagnostics;
using Idempotency.Execution;
using Idempotency.Hooks;
using Idempotency.Policies;
using Idempotency.Problems;
using Idempotency.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Workers;

/// <summary>
/// The non-HTTP adapter of <see cref="IdempotencyEngine"/>: an operation's key and payload play the parts of the
/// idempotency key and the request fingerprint, its result the part of the response, and the engine's decisions
/// become results and exceptions instead of responses.
/// </summary>
internal sealed class IdempotentExecutor : IIdempotentExecutor
{
    private readonly IdempotencyEngine _engine;
    private readonly IdempotencyPolicyResolver _policies;
    private readonly IdempotencyTelemetry _telemetry;
    private readonly IdempotencyHooks _hooks;
    private readonly ILogger _logger;
    private readonly int _maxKeyLength;

    public IdempotentExecutor(IdempotencyEngine engine, IdempotencyPolicyResolver policies, IOptions<IdempotencyOptions> options, ILogger<IdempotentExecutor> logger)
    {
        _engine = engine;
        _policies = policies;
        _telemetry = engine.Telemetry;
        _hooks = engine.Hooks;
        _logger = logger;
        _maxKeyLength = options.Value.MaxKeyLength;
    }

    public ValueTask<IdempotentResult<TResult>> ExecuteAsync<TState, TResult>(
        IdempotentOperation operation,
        TState state,
        Func<TState, CancellationToken, ValueTask<TResult>> work,
        JsonTypeInfo<TResult> resultTypeInfo,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(resultTypeInfo);
        if (string.IsNullOrEmpty(operation.Key) || operation.Key.Length > _maxKeyLength)
        {
            throw new ArgumentException($"An operation's key must have 1 to {_maxKeyLength} characters (IdempotencyOptions.MaxKeyLength).", nameof(operation));
        }

        if (operation.Scope is { Length: 0 })
        {
            throw new ArgumentException("An operation's scope must not be empty: use null for the shared worker scope.", nameof(operation));
        }

        var policy = _policies.GetPolicy(operation.PolicyName);
        if (policy.Transactional)
        {
            // Running it outside the transaction would keep the record apart from the work's writes: exactly the window
            // the policy was chosen to close.
            throw new InvalidOperationException(
                $"Policy '{policy.Name}' is transactional: its records commit in the transaction of an HTTP request's unit of work, which a worker " +
                "operation does not have. Use a policy without Transactional for IIdempotentExecutor.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        return ExecuteCoreAsync(operation, policy, state, work, resultTypeInfo, cancellationToken);
    }

    private async ValueTask<IdempotentResult<TResult>> ExecuteCoreAsync<TState, TResult>(
        IdempotentOperation operation,
        ResolvedPolicy policy,
        TState state,
        Func<TState, CancellationToken, ValueTask<TResult>> work,
        JsonTypeInfo<TResult> resultTypeInfo,
        CancellationToken cancellationToken)
    {
        using var activity = IdempotencyTelemetry.StartOperation(policy.Name);
        var recordKey = RecordKey.Create(PrincipalScope.Worker(operation.Scope), operation.Key);
        var fingerprint = SHA256.HashData(operation.Payload.Span);

        // A worker has no client to answer "in flight, retry later": a duplicate delivery waits for the first and
        // takes its result, which is what the consumer wanted.
        BeginResult begin;
        try
        {
            begin = await _engine.BeginAsync(StoreTarget.Record(recordKey, fingerprint), policy, waitForConcurrent: true, services: null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
        {
            // The caller gave up while the store was failing: what it asked for is cancellation, not a store error.
            throw new OperationCanceledException("The operation was cancelled while the idempotency store did not answer.", ex, cancellationToken);
        }

        switch (begin.Decision)
        {
            case BeginDecision.Acquired:
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Executed);
                var execution = new WorkerExecution<TState, TResult>(state, work, resultTypeInfo, policy, recordKey, _telemetry, _logger, cancellationToken);
                await _engine.ExecuteAsync(new Ownership(recordKey, begin.FencingToken, isStream: false), policy, execution).ConfigureAwait(false);
                if (execution.SerializationFailure is { } failure)
                {
                    throw new IdempotencyConflictException(
                        IdempotencyConflictReason.ResultNotReplayable,
                        $"The work ran, but its result could not be serialized as {typeof(TResult).Name}, so it was not kept; the work will not run again for this key. See the inner exception.",
                        failure);
                }

                return new IdempotentResult<TResult>(execution.Result, IdempotencyOutcome.Executed);
            case BeginDecision.Completed:
                return await ReplayAsync(begin.Response!, policy, activity, recordKey, resultTypeInfo).ConfigureAwait(false);
            case BeginDecision.FingerprintMismatch:
                RecordTransitions.Mismatch(_logger, Activity.Current, recordKey, policy.Name);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Mismatch);
                await RejectedAsync(policy, IdempotencyProblem.KeyReused).ConfigureAwait(false);
                throw new IdempotencyConflictException(
                    IdempotencyConflictReason.PayloadMismatch,
                    "This operation's key was used before with a different payload; the work did not run. Use a new key for a new operation.");
            case BeginDecision.InFlight:
                RecordTransitions.InFlight(_logger, Activity.Current, recordKey, policy.Name);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.InFlight);
                await RejectedAsync(policy, IdempotencyProblem.RequestInFlight).ConfigureAwait(false);
                throw new IdempotencyConflictException(
                    IdempotencyConflictReason.InFlight,
                    $"Another execution of this operation was still running after {policy.ConcurrentWaitTimeout} (the policy's ConcurrentWaitTimeout); the work did not run here. Retry later.");
            case BeginDecision.StoreUnavailable:
                if (policy.FailOpen)
                {
                    IdempotencyLog.FailOpen(_logger, policy.Name, begin.Failure!);
                    _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.FailOpen);
                    await _hooks.FailOpenAsync(null, policy.Name, begin.Failure!).ConfigureAwait(false);
                    return new IdempotentResult<TResult>(await work(state, cancellationToken).ConfigureAwait(false), IdempotencyOutcome.FailOpen);
                }

                IdempotencyLog.StoreUnavailable(_logger, policy.Name, begin.Failure!);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.StoreUnavailable);
                throw begin.Failure as IdempotencyStoreUnavailableException
                    ?? new IdempotencyStoreUnavailableException(begin.Failure!.Message, begin.Failure);
            case BeginDecision.QuotaExceeded:
                IdempotencyLog.QuotaExceeded(_logger, recordKey, policy.Name, begin.Failure!.Message);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.QuotaExceeded);
                break;
            case BeginDecision.StoreFull:
                IdempotencyLog.StoreFull(_logger, policy.Name, begin.Failure!.Message);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.StoreFull);
                break;
            default:
                Debug.Assert(begin.Decision == BeginDecision.RecordUnreadable, "A record's begin never answers with a stream's decision.");
                IdempotencyLog.RecordUnreadable(_logger, recordKey, policy.Name, begin.Failure!);
                _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.RecordUnreadable);
                break;
        }

        // Room and unreadable records are the store's answers, not its absence: never fail-open, the work does not run.
        ExceptionDispatchInfo.Throw(begin.Failure!);
        return default;
    }

    // The hooks hear of a worker's answers as of an HTTP request's, without a request: the rejection names the problem
    // an HTTP caller would have been answered with.
    private ValueTask RejectedAsync(ResolvedPolicy policy, IdempotencyProblem problem)
        => _hooks.RejectedAsync(null, policy.Name, problem.Name, problem.Status);

    private async ValueTask<IdempotentResult<TResult>> ReplayAsync<TResult>(StoredResponse stored, ResolvedPolicy policy, Activity? activity, string recordKey, JsonTypeInfo<TResult> resultTypeInfo)
    {
        if (!stored.IsBodyStored)
        {
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.NotReplayable);
            await RejectedAsync(policy, IdempotencyProblem.ResponseNotReplayable).ConfigureAwait(false);
            throw new IdempotencyConflictException(
                IdempotencyConflictReason.ResultNotReplayable,
                "This operation ran before, but its result was not kept (larger than the policy's MaxSnapshotBytes, or it could not be serialized). It will not run again.");
        }

        TResult value;
        try
        {
            value = JsonSerializer.Deserialize(stored.Body.Span, resultTypeInfo)!;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            // Typically a deploy that changed the result's type: the work ran, so it must not run again, and the caller
            // is told in the store's own terms that the record cannot be read.
            IdempotencyLog.RecordUnreadable(_logger, recordKey, policy.Name, ex);
            _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.RecordUnreadable);
            throw new InvalidDataException(
                $"This operation ran before, but its stored result cannot be read as {typeof(TResult).Name}; the work did not run again.", ex);
        }

        RecordTransitions.Replayed(_logger, Activity.Current, recordKey, policy.Name, stored.StatusCode);
        _telemetry.RecordOutcome(activity, policy.Name, IdempotencyOutcome.Replayed);
        await _hooks.ReplayedAsync(null, policy.Name, stored.StatusCode).ConfigureAwait(false);
        return new IdempotentResult<TResult>(value, IdempotencyOutcome.Replayed);
    }
}
