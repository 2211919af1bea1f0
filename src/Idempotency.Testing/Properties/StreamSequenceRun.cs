using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>The sequence-mode half of <see cref="SequenceRun{TOperation}"/>: <see cref="StreamStoreModel"/> beside the store's streams.</summary>
internal sealed class StreamSequenceRun(IIdempotencySequenceStore store, Func<TimeSpan, Task> advanceStoreTimeAsync, PropertyTimeProfile profile, PropertyStatistics statistics)
    : SequenceRun<StreamOperation>(advanceStoreTimeAsync, profile, statistics, StoreOperationGenerators.StreamCount, "stream")
{
    private readonly StreamStoreModel _model = new();

    protected override void AdvanceModel(TimeSpan duration) => _model.Advance(duration);

    protected override async Task<string> BeginAsync(StreamOperation operation)
    {
        var stream = operation.StreamName;
        var epoch = ResolveEpoch(operation, _model.EpochOf(stream));
        var number = ResolveNumber(operation, _model.LastSeenBy(stream, epoch));
        var expected = _model.Begin(stream, epoch, number, operation.Fingerprint, operation.Duration);
        var actual = await store.TryBeginSequenceAsync(stream, epoch, number, PropertyFingerprints.Create(operation.Fingerprint), operation.Duration, CancellationToken.None);
        CheckTime();

        var difference = actual.Status != expected.Status
            ? "the status"
            : actual.LastSequence != expected.LastSequence || actual.CurrentEpoch != expected.CurrentEpoch
                ? "the last sequence or the current epoch"
                : TokenOrResponseDifference(operation.Stream, actual.Status == SequenceBeginStatus.Acquired, expected.Token, actual.FencingToken, expected.Response, actual.Response);
        Trace.Step($"{operation} as (epoch {epoch}, number {number})", Describe(expected), Describe(operation.Stream, actual));
        return difference is null ? expected.Status.ToString() : throw Trace.Divergence(difference);
    }

    protected override async Task<string> OwnerOperationAsync(StreamOperation operation)
    {
        var (modelToken, storeToken) = Tokens.Resolve(operation.Stream, operation.Token);
        var stream = operation.StreamName;
        var (expected, actual) = operation.Kind switch
        {
            OperationKind.Renew => (_model.Renew(stream, modelToken, operation.Duration), await store.RenewSequenceLeaseAsync(stream, storeToken, operation.Duration, CancellationToken.None)),
            OperationKind.Complete => (
                _model.Complete(stream, modelToken, operation.Response, operation.Window, operation.Duration),
                await store.CompleteSequenceAsync(stream, storeToken, PropertyResponses.Get(operation.Response), operation.Window, operation.Duration, CancellationToken.None)),
            _ => (_model.Release(stream, modelToken), await store.ReleaseSequenceAsync(stream, storeToken, CancellationToken.None)),
        };
        CheckTime();
        return Trace.Owner(operation, Tokens.Name(operation.Stream, storeToken), expected, actual);
    }

    private static long ResolveEpoch(StreamOperation operation, long current) => operation.Epoch switch
    {
        EpochChoice.Current => current,
        EpochChoice.Newer => current == long.MaxValue ? current : current + 1,
        EpochChoice.Older => Math.Max(0, current - 1),
        _ => operation.EpochValue,
    };

    private static long ResolveNumber(StreamOperation operation, long last) => operation.Number switch
    {
        NumberChoice.Next => last + 1,
        NumberChoice.Behind => Math.Max(1, last - operation.NumberValue),
        NumberChoice.Ahead => last + 1 + operation.NumberValue,
        _ => operation.NumberValue,
    };

    private static string Describe(SequenceBeginOutcome outcome) => outcome.Status switch
    {
        SequenceBeginStatus.Acquired => $"Acquired(t{outcome.Token})",
        SequenceBeginStatus.Completed => $"Completed(response {outcome.Response})",
        SequenceBeginStatus.Gap or SequenceBeginStatus.AlreadyApplied => $"{outcome.Status}(last {outcome.LastSequence})",
        SequenceBeginStatus.EpochFenced => $"EpochFenced(epoch {outcome.CurrentEpoch})",
        _ => outcome.Status.ToString(),
    };

    private string Describe(int stream, SequenceBeginResult result) => result.Status switch
    {
        SequenceBeginStatus.Acquired => $"Acquired({Tokens.Name(stream, result.FencingToken)})",
        SequenceBeginStatus.Completed => $"Completed({result.Response?.StatusCode})",
        SequenceBeginStatus.Gap or SequenceBeginStatus.AlreadyApplied => $"{result.Status}(last {result.LastSequence})",
        SequenceBeginStatus.EpochFenced => $"EpochFenced(epoch {result.CurrentEpoch})",
        _ => result.Status.ToString(),
    };
}
