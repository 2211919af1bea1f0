using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>
/// Runs one generated sequence against a store and a reference model side by side and fails at the first difference;
/// the mode-specific halves (<see cref="KeySequenceRun"/>, <see cref="StreamSequenceRun"/>) say how each step is
/// asked of both and how the answers are compared.
/// </summary>
internal abstract class SequenceRun<TOperation>(Func<TimeSpan, Task> advanceStoreTimeAsync, PropertyTimeProfile profile, PropertyStatistics statistics, int keyCount, string mode)
    where TOperation : IStoreOperation
{
    private RealTimeGuard? _guard;

    protected RunTrace Trace { get; } = new();

    protected TokenLedger Tokens { get; } = new(keyCount);

    public async Task ExecuteAsync(IReadOnlyList<TOperation> operations)
    {
        statistics.StartSequence();
        _guard = new RealTimeGuard(profile, operations.Any(o => o.Duration > TimeSpan.Zero && o.Duration < profile.UntimedDuration), statistics);
        var timed = false;
        foreach (var operation in operations)
        {
            if (operation.Kind == OperationKind.Advance)
            {
                timed = true;
                AdvanceModel(operation.Duration);
                await advanceStoreTimeAsync(operation.Duration);
                _guard.Advanced();
                Trace.Advance(operation);
                continue;
            }

            var outcome = operation.Kind == OperationKind.Begin ? await BeginAsync(operation) : await OwnerOperationAsync(operation);
            statistics.Count($"{mode} {operation.Kind}: {outcome}");
        }

        statistics.EndSequence(timed);
    }

    protected abstract void AdvanceModel(TimeSpan duration);

    /// <summary>Asks the model and the store; returns the outcome for the statistics or throws the divergence.</summary>
    protected abstract Task<string> BeginAsync(TOperation operation);

    /// <summary>Asks a renew, complete or release of the model and the store; returns the outcome or throws the divergence.</summary>
    protected abstract Task<string> OwnerOperationAsync(TOperation operation);

    /// <summary>Called after each store call, before its answer is judged: see <see cref="RealTimeGuard"/>.</summary>
    protected void CheckTime() => _guard!.Check();

    /// <summary>
    /// What two begin answers with the same status still differ in: an acquisition's token (paired with the model's
    /// here), a token on any other answer, the replayed response, or a response where none belongs. Null when alike.
    /// </summary>
    protected string? TokenOrResponseDifference(int key, bool acquired, long modelToken, long storeToken, int? expectedResponse, StoredResponse? actualResponse)
    {
        if (acquired)
        {
            return Tokens.Issue(key, modelToken, storeToken);
        }

        if (storeToken != 0)
        {
            return "a token without acquiring";
        }

        if (expectedResponse is { } response)
        {
            return PropertyResponses.Difference(response, actualResponse);
        }

        return actualResponse is null ? null : "a response without a replay";
    }
}
