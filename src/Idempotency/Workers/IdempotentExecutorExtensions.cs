using System.Text.Json.Serialization.Metadata;

namespace Idempotency;

/// <summary>A shorter form of <see cref="IIdempotentExecutor.ExecuteAsync"/>, for work that needs no state.</summary>
public static class IdempotentExecutorExtensions
{
    /// <summary>Runs <paramref name="work"/> once for <paramref name="operation"/>'s key, or returns the result of the run that did.</summary>
    /// <typeparam name="TResult">The work's result, stored as JSON.</typeparam>
    /// <param name="executor">The executor.</param>
    /// <param name="operation">The operation's key, payload, scope and policy.</param>
    /// <param name="work">The work.</param>
    /// <param name="resultTypeInfo">How to (de)serialize the result.</param>
    /// <param name="cancellationToken">Cancels waiting and the work; see <see cref="IIdempotentExecutor.ExecuteAsync"/>.</param>
    /// <returns>The result, and whether it was replayed.</returns>
    public static ValueTask<IdempotentResult<TResult>> ExecuteAsync<TResult>(
        this IIdempotentExecutor executor,
        IdempotentOperation operation,
        Func<CancellationToken, ValueTask<TResult>> work,
        JsonTypeInfo<TResult> resultTypeInfo,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(executor);
        return executor.ExecuteAsync(operation, work, static (work, token) => work(token), resultTypeInfo, cancellationToken);
    }
}
