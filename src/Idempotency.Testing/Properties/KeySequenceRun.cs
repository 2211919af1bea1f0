using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>The key-mode half of <see cref="SequenceRun{TOperation}"/>: <see cref="KeyStoreModel"/> beside the store's records.</summary>
internal sealed class KeySequenceRun(IIdempotencyStore store, Func<TimeSpan, Task> advanceStoreTimeAsync, PropertyTimeProfile profile, PropertyStatistics statistics)
    : SequenceRun<KeyOperation>(advanceStoreTimeAsync, profile, statistics, StoreOperationGenerators.KeyCount, "key")
{
    private readonly KeyStoreModel _model = new();

    protected override void AdvanceModel(TimeSpan duration) => _model.Advance(duration);

    protected override async Task<string> BeginAsync(KeyOperation operation)
    {
        var expected = _model.Begin(operation.KeyName, operation.Fingerprint, operation.Duration);
        var actual = await store.TryBeginAsync(operation.KeyName, PropertyFingerprints.Create(operation.Fingerprint), operation.Duration, CancellationToken.None);
        CheckTime();

        var difference = actual.Status != expected.Status
            ? "the status"
            : TokenOrResponseDifference(operation.Key, actual.Status == IdempotencyBeginStatus.Acquired, expected.Token, actual.FencingToken, expected.Response, actual.Response);
        Trace.Step(operation, Describe(expected), Describe(operation.Key, actual));
        return difference is null ? expected.Status.ToString() : throw Trace.Divergence(difference);
    }

    protected override async Task<string> OwnerOperationAsync(KeyOperation operation)
    {
        var (modelToken, storeToken) = Tokens.Resolve(operation.Key, operation.Token);
        var key = operation.KeyName;
        var (expected, actual) = operation.Kind switch
        {
            OperationKind.Renew => (_model.Renew(key, modelToken, operation.Duration), await store.RenewLeaseAsync(key, storeToken, operation.Duration, CancellationToken.None)),
            OperationKind.Complete => (
                _model.Complete(key, modelToken, operation.Response, operation.Duration),
                await store.CompleteAsync(key, storeToken, PropertyResponses.Get(operation.Response), operation.Duration, CancellationToken.None)),
            _ => (_model.Release(key, modelToken), await store.ReleaseAsync(key, storeToken, CancellationToken.None)),
        };
        CheckTime();
        return Trace.Owner(operation, Tokens.Name(operation.Key, storeToken), expected, actual);
    }

    private static string Describe(KeyBeginOutcome outcome) => outcome.Status switch
    {
        IdempotencyBeginStatus.Acquired => $"Acquired(t{outcome.Token})",
        IdempotencyBeginStatus.Completed => $"Completed(response {outcome.Response})",
        _ => outcome.Status.ToString(),
    };

    private string Describe(int key, IdempotencyBeginResult result) => result.Status switch
    {
        IdempotencyBeginStatus.Acquired => $"Acquired({Tokens.Name(key, result.FencingToken)})",
        IdempotencyBeginStatus.Completed => $"Completed({result.Response?.StatusCode})",
        _ => result.Status.ToString(),
    };
}
