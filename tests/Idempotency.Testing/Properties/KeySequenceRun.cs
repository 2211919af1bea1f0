using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>Runs one generated key-mode sequence against a store and the model side by side and fails at the first difference.</summary>
internal sealed class KeySequenceRun(IIdempotencyStore store, Func<TimeSpan, Task> advanceStoreTimeAsync, PropertyTimeProfile profile, PropertyStatistics statistics)
{
    private readonly KeyStoreModel _model = new();
    private readonly TokenLedger _tokens = new(StoreOperationGenerators.KeyCount);
    private readonly RunTrace _trace = new();

    public async Task ExecuteAsync(IReadOnlyList<KeyOperation> operations)
    {
        statistics.StartSequence();
        var guard = new RealTimeGuard(profile, operations.Any(o => o.Duration > TimeSpan.Zero && o.Duration < profile.UntimedDuration), statistics);
        foreach (var operation in operations)
        {
            if (operation.Kind == OperationKind.Advance)
            {
                _model.Advance(operation.Duration);
                await advanceStoreTimeAsync(operation.Duration);
                guard.Advanced();
                _trace.Advance(operation);
                continue;
            }

            var outcome = operation.Kind == OperationKind.Begin
                ? await BeginAsync(operation, guard)
                : await OwnerOperationAsync(operation, guard);
            statistics.Count($"key {operation.Kind}: {outcome}");
        }
    }

    private async Task<string> BeginAsync(KeyOperation operation, RealTimeGuard guard)
    {
        var expected = _model.Begin(operation.KeyName, operation.Fingerprint, operation.Duration);
        var actual = await store.TryBeginAsync(operation.KeyName, PropertyFingerprints.Create(operation.Fingerprint), operation.Duration, CancellationToken.None);
        guard.Check();

        string? difference = null;
        if (actual.Status != expected.Status)
        {
            difference = "the status";
        }
        else if (actual.Status == IdempotencyBeginStatus.Acquired)
        {
            difference = _tokens.Issue(operation.Key, expected.Token, actual.FencingToken);
        }
        else if (actual.FencingToken != 0)
        {
            difference = "a token without acquiring";
        }
        else if (expected.Response is { } response)
        {
            difference = PropertyResponses.Difference(response, actual.Response);
        }
        else if (actual.Response is not null)
        {
            difference = "a response without a replay";
        }

        _trace.Step(operation, Describe(expected), Describe(operation.Key, actual));
        return difference is null ? expected.Status.ToString() : throw _trace.Divergence(difference);
    }

    private async Task<string> OwnerOperationAsync(KeyOperation operation, RealTimeGuard guard)
    {
        var (modelToken, storeToken) = _tokens.Resolve(operation.Key, operation.Token);
        var key = operation.KeyName;
        var (expected, actual) = operation.Kind switch
        {
            OperationKind.Renew => (_model.Renew(key, modelToken, operation.Duration), await store.RenewLeaseAsync(key, storeToken, operation.Duration, CancellationToken.None)),
            OperationKind.Complete => (
                _model.Complete(key, modelToken, operation.Response, operation.Duration),
                await store.CompleteAsync(key, storeToken, PropertyResponses.Get(operation.Response), operation.Duration, CancellationToken.None)),
            _ => (_model.Release(key, modelToken), await store.ReleaseAsync(key, storeToken, CancellationToken.None)),
        };
        guard.Check();
        return _trace.Owner(operation, _tokens.Name(operation.Key, storeToken), expected, actual);
    }

    private static string Describe(KeyBeginOutcome outcome) => outcome.Status switch
    {
        IdempotencyBeginStatus.Acquired => $"Acquired(t{outcome.Token})",
        IdempotencyBeginStatus.Completed => $"Completed(response {outcome.Response})",
        _ => outcome.Status.ToString(),
    };

    private string Describe(int key, IdempotencyBeginResult result) => result.Status switch
    {
        IdempotencyBeginStatus.Acquired => $"Acquired({_tokens.Name(key, result.FencingToken)})",
        IdempotencyBeginStatus.Completed => $"Completed({result.Response?.StatusCode})",
        _ => result.Status.ToString(),
    };
}
