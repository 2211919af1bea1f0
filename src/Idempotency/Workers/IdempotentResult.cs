namespace Idempotency;

/// <summary>What <see cref="IIdempotentExecutor"/> returns: the operation's result and where it came from.</summary>
/// <typeparam name="TResult">The work's result type.</typeparam>
public readonly struct IdempotentResult<TResult>
{
    /// <summary>Creates a result.</summary>
    /// <param name="value">The result.</param>
    /// <param name="outcome">Where it came from.</param>
    public IdempotentResult(TResult value, IdempotencyOutcome outcome)
    {
        Value = value;
        Outcome = outcome;
    }

    /// <summary>The result: this call's, or the stored result of the run that did the work.</summary>
    public TResult Value { get; }

    /// <summary>Whether <see cref="Value"/> was replayed from an earlier run: this call did not run the work.</summary>
    public bool IsReplay => Outcome == IdempotencyOutcome.Replayed;

    /// <summary>
    /// <see cref="IdempotencyOutcome.Executed"/> (this call ran the work and recorded it),
    /// <see cref="IdempotencyOutcome.Replayed"/>, or <see cref="IdempotencyOutcome.FailOpen"/> (this call ran the work
    /// unprotected because the store was unavailable; nothing was recorded).
    /// </summary>
    public IdempotencyOutcome Outcome { get; }
}
