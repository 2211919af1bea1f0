using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Idempotency;

/// <summary>Shorter forms of <see cref="IIdempotentExecutor.ExecuteAsync"/>.</summary>
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

    /// <summary>
    /// Runs <paramref name="work"/> once for <paramref name="operation"/>'s key, or returns the result of the run that
    /// did; the result is (de)serialized by reflection with <paramref name="serializerOptions"/>.
    /// </summary>
    /// <typeparam name="TResult">The work's result, stored as JSON.</typeparam>
    /// <param name="executor">The executor.</param>
    /// <param name="operation">The operation's key, payload, scope and policy.</param>
    /// <param name="work">The work.</param>
    /// <param name="serializerOptions">The serializer options; <see langword="null"/> for <see cref="JsonSerializerOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels waiting and the work; see <see cref="IIdempotentExecutor.ExecuteAsync"/>.</param>
    /// <returns>The result, and whether it was replayed.</returns>
    [RequiresUnreferencedCode("Serializes the result by reflection. Use the overload that takes a JsonTypeInfo<TResult> for trimmed or AOT applications.")]
    [RequiresDynamicCode("Serializes the result by reflection. Use the overload that takes a JsonTypeInfo<TResult> for trimmed or AOT applications.")]
    public static ValueTask<IdempotentResult<TResult>> ExecuteAsync<TResult>(
        this IIdempotentExecutor executor,
        IdempotentOperation operation,
        Func<CancellationToken, ValueTask<TResult>> work,
        JsonSerializerOptions? serializerOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(executor);
        var options = serializerOptions ?? JsonSerializerOptions.Default;
        options.MakeReadOnly(populateMissingResolver: true);
        var typeInfo = (JsonTypeInfo<TResult>)options.GetTypeInfo(typeof(TResult));
        return executor.ExecuteAsync(operation, work, static (work, token) => work(token), typeInfo, cancellationToken);
    }
}
