using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>Runs one generated sequence-mode sequence against a store and the model side by side and fails at the first difference.</summary>
internal sealed class StreamSequenceRun(IIdempotencyStore store, Func<TimeSpan, Task> advanceStoreTimeAsync, PropertyTimeProfile profile, PropertyStatistics statistics)
{
    private readonly StreamStoreModel _model = new();
    private readonly TokenLedger _tokens = new(StoreOperationGenerators.StreamCount);
    private readonly RunTrace _trace = new();

    public async Task ExecuteAsync(IReadOnlyList<StreamOperation> operations)
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
            statistics.Count($"stream {operation.Kind}: {outcome}");
        }
    }

    private async Task<string> BeginAsync(StreamOperation operation, RealTimeGuard guard)
    {
        var stream = operation.StreamName;
        var epoch = ResolveEpoch(operation, _model.EpochOf(stream));
        var number = ResolveNumber(operation, _model.LastSeenBy(stream, epoch));
        var expected = _model.Begin(stream, epoch, number, operation.Fingerprint, operation.Duration);
        var actual = await store.TryBeginSequenceAsync(stream, epoch, number, PropertyFingerprints.Create(operation.Fingerprint), operation.Duration, CancellationToken.None);
        guard.Check();

        string? difference = null;
        if (actual.Status != expected.Status)
        {
            difference = "the status";
        }
        else if (actual.LastSequence != expected.LastSequence || actual.CurrentEpoch != expected.CurrentEpoch)
        {
            difference = "the last sequence or the current epoch";
        }
        else if (actual.Status == SequenceBeginStatus.Acquired)
        {
            difference = _tokens.Issue(operation.Stream, expected.Token, actual.FencingToken);
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

        _trace.Step($"{operation} as (epoch {epoch}, number {number})", Describe(expected), Describe(operation.Stream, actual));
        return difference is null ? expected.Status.ToString() : throw _trace.Divergence(difference);
    }

    private async Task<string> OwnerOperationAsync(StreamOperation operation, RealTimeGuard guard)
    {
        var (modelToken, storeToken) = _tokens.Resolve(operation.Stream, operation.Token);
        var stream = operation.StreamName;
        var (expected, actual) = operation.Kind switch
        {
            OperationKind.Renew => (_model.Renew(stream, modelToken, operation.Duration), await store.RenewSequenceLeaseAsync(stream, storeToken, operation.Duration, CancellationToken.None)),
            OperationKind.Complete => (
                _model.Complete(stream, modelToken, operation.Response, operation.Window, operation.Duration),
                await store.CompleteSequenceAsync(stream, storeToken, PropertyResponses.Get(operation.Response), operation.Window, operation.Duration, CancellationToken.None)),
            _ => (_model.Release(stream, modelToken), await store.ReleaseSequenceAsync(stream, storeToken, CancellationToken.None)),
        };
        guard.Check();
        return _trace.Owner(operation, _tokens.Name(operation.Stream, storeToken), expected, actual);
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
        SequenceBeginStatus.Acquired => $"Acquired({_tokens.Name(stream, result.FencingToken)})",
        SequenceBeginStatus.Completed => $"Completed({result.Response?.StatusCode})",
        SequenceBeginStatus.Gap or SequenceBeginStatus.AlreadyApplied => $"{result.Status}(last {result.LastSequence})",
        SequenceBeginStatus.EpochFenced => $"EpochFenced(epoch {result.CurrentEpoch})",
        _ => result.Status.ToString(),
    };
}
