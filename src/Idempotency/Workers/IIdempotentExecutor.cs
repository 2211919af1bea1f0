using System.Text.Json.Serialization.Metadata;

namespace Idempotency;

/// <summary>
/// Runs work that is not an HTTP request (a queue consumer's message, a background job, a webhook received in bulk)
/// at most once per key: the first execution's result is stored, and every retry with the same key gets it back
/// instead of running the work again. The same stores, policies, scopes, leases, fencing, retention and telemetry
/// serve it as serve the middleware. Registered by <c>AddIdempotency()</c>.
/// </summary>
/// <remarks>
/// <para>
/// A retry with the same key and the same payload gets the stored result (<see cref="IdempotentResult{TResult}.IsReplay"/>);
/// with another payload it throws <see cref="IdempotencyConflictException"/> (<see cref="IdempotencyConflictReason.PayloadMismatch"/>).
/// Work that throws releases the record and the exception propagates: a retry runs the work again.
/// </para>
/// <para>
/// A duplicate that arrives while the work runs elsewhere waits for it (whatever the policy's
/// <see cref="IdempotencyPolicy.ConcurrentRequests"/>, which answers HTTP clients) up to the policy's
/// <see cref="IdempotencyPolicy.ConcurrentWaitTimeout"/>, then gets the result, or
/// <see cref="IdempotencyConflictException"/> (<see cref="IdempotencyConflictReason.InFlight"/>) if the first is still running.
/// </para>
/// <para>
/// An unreachable store throws <see cref="Storage.IdempotencyStoreUnavailableException"/>, unless the policy is
/// <see cref="IdempotencyPolicy.FailOpen"/>: then the work runs unprotected and its result is not stored
/// (<see cref="IdempotencyOutcome.FailOpen"/>). A result whose JSON is larger than the policy's
/// <see cref="IdempotencyPolicy.MaxSnapshotBytes"/> is returned to the first caller and recorded without its value: the
/// work never runs twice, and a retry throws <see cref="IdempotencyConflictException"/> (<see cref="IdempotencyConflictReason.ResultNotReplayable"/>).
/// </para>
/// </remarks>
public interface IIdempotentExecutor
{
    /// <summary>Runs <paramref name="work"/> once for <paramref name="operation"/>'s key, or returns the result of the run that did.</summary>
    /// <typeparam name="TState">What the work needs, passed through so the work can be a static lambda (no closure).</typeparam>
    /// <typeparam name="TResult">The work's result, stored as JSON.</typeparam>
    /// <param name="operation">The operation's key, payload, scope and policy.</param>
    /// <param name="state">Passed to <paramref name="work"/>.</param>
    /// <param name="work">The work. Its token is <paramref name="cancellationToken"/>.</param>
    /// <param name="resultTypeInfo">How to (de)serialize the result (from a <c>JsonSerializerContext</c>: trimming- and AOT-safe).</param>
    /// <param name="cancellationToken">
    /// Cancels waiting for a concurrent duplicate and the work itself. The store calls do not listen to it (they are
    /// bounded by <see cref="IdempotencyOptions.StoreTimeout"/>): once the work has run, its result is recorded even if
    /// the caller has given up.
    /// </param>
    /// <returns>The result, and whether it was replayed from an earlier run.</returns>
    /// <exception cref="IdempotencyConflictException">The key was used with another payload, is still executing elsewhere after the wait, or its result was too large to keep.</exception>
    /// <exception cref="Storage.IdempotencyStoreUnavailableException">The store could not be reached (and the policy is not fail-open).</exception>
    /// <exception cref="InvalidOperationException">The policy named does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The stored record cannot be read: written by a newer release, or a result that no longer reads as
    /// <typeparamref name="TResult"/> (the result's type changed in a deploy). The work does not run again.
    /// </exception>
    /// <exception cref="Storage.IdempotencyStoreCapacityException">The store has no room for the record, or the operation's scope is over its quota (never fail-open); the work did not run.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the work ran.</exception>
    /// <remarks>
    /// A result that cannot be serialized reaches this, the first caller, after the work has run, as
    /// <see cref="IdempotencyConflictException"/> (<see cref="IdempotencyConflictReason.ResultNotReplayable"/>) with the
    /// serializer's exception inside; the record is completed as not replayable, so a retry gets the same reason and the
    /// work never runs twice. Work that throws releases the record instead, and its own exception propagates.
    /// </remarks>
    ValueTask<IdempotentResult<TResult>> ExecuteAsync<TState, TResult>(
        IdempotentOperation operation,
        TState state,
        Func<TState, CancellationToken, ValueTask<TResult>> work,
        JsonTypeInfo<TResult> resultTypeInfo,
        CancellationToken cancellationToken = default);
}
