using FsCheck;
using FsCheck.Fluent;

namespace Idempotency.Testing.Properties;

/// <summary>
/// FsCheck generators and shrinkers of random operation sequences over a small key space: few keys and streams,
/// small numbers, a few fingerprints, stale, current, foreign and forged tokens, and time advances as the
/// <see cref="PropertyTimeProfile"/> allows.
/// </summary>
/// <remarks>
/// Epochs, numbers and tokens are chosen relative to the state when the step runs (<see cref="EpochChoice"/>,
/// <see cref="NumberChoice"/>, <see cref="TokenRef"/>), so most steps hit the interesting cases (the next number, the
/// owner's token) instead of gaps and strangers, and a step keeps its meaning when shrinking removes steps before it.
/// </remarks>
internal static class StoreOperationGenerators
{
    public const int KeyCount = 3;
    public const int StreamCount = 2;

    private static readonly long[] FixedEpochs = [0, 1, 2, (1L << 53) + 1, long.MaxValue - 1];
    private static readonly long[] FixedNumbers = [1, 2, 3, 5, (1L << 53) + 1, long.MaxValue];
    // 1 twice as often: numbers leave a small window soon enough for "already applied" to come up in short sequences.
    private static readonly int[] Windows = [1, 1, 2, 3, 16];

    private static readonly Gen<int> Fingerprints = Gen.Frequency((70, Gen.Constant(0)), (20, Gen.Constant(1)), (10, Gen.Constant(2)));

    private static readonly Gen<int> Responses = Gen.Choose(0, PropertyResponses.Count - 1);

    private static readonly Gen<TokenRef> Tokens = Gen.Frequency(
        (70, Gen.Constant(new TokenRef(TokenChoice.Latest, 0))),
        (10, Gen.Choose(1, 3).Select(offset => new TokenRef(TokenChoice.Earlier, offset))),
        (10, Gen.Choose(1, 2).Select(offset => new TokenRef(TokenChoice.OtherKey, offset))),
        (10, Gen.Choose(0, 1).Select(variant => new TokenRef(TokenChoice.Unissued, variant))));

    /// <summary>Key-mode sequences of 1 to <paramref name="maxLength"/> operations, with their shrinker.</summary>
    public static Arbitrary<KeyOperation[]> KeySequences(PropertyTimeProfile profile, int maxLength)
        => Arb.From(
            Sequences(profile, maxLength, timed => KeyOperations(profile, timed), advance => new KeyOperation(OperationKind.Advance, 0, 0, advance, default, 0)),
            operations => Shrink(operations, Simplify, (first, second) => first with { Duration = first.Duration + second.Duration }));

    /// <summary>Sequence-mode sequences of 1 to <paramref name="maxLength"/> operations, with their shrinker.</summary>
    public static Arbitrary<StreamOperation[]> StreamSequences(PropertyTimeProfile profile, int maxLength)
        => Arb.From(
            Sequences(profile, maxLength, timed => StreamOperations(profile, timed), advance => new StreamOperation(OperationKind.Advance, 0, EpochChoice.Current, 0, NumberChoice.Next, 0, 0, advance, default, 0, 1)),
            operations => Shrink(operations, Simplify, (first, second) => first with { Duration = first.Duration + second.Duration }));

    private static Gen<T[]> Sequences<T>(PropertyTimeProfile profile, int maxLength, Func<bool, Gen<T>> operations, Func<TimeSpan, T> advance)
        => from percent in Gen.Choose(1, 100)
           let timed = percent <= profile.TimedPercent
           from length in Gen.Choose(1, maxLength)
           from steps in operations(timed).ArrayOf(length)
           from position in Gen.Choose(0, length)
           from wait in profile.Advances.Count > 0 ? Gen.Elements<TimeSpan>(profile.Advances) : Gen.Constant(TimeSpan.Zero)
           select timed && profile.AdvanceWeight == 0 && wait > TimeSpan.Zero ? [.. steps[..position], advance(wait), .. steps[position..]] : steps;

    private static Gen<KeyOperation> KeyOperations(PropertyTimeProfile profile, bool timed)
    {
        var durations = Durations(profile, timed);
        var keys = Gen.Choose(0, KeyCount - 1);
        var begin = from key in keys from fingerprint in Fingerprints from lease in durations select new KeyOperation(OperationKind.Begin, key, fingerprint, lease, default, 0);
        var renew = from key in keys from token in Tokens from lease in durations select new KeyOperation(OperationKind.Renew, key, 0, lease, token, 0);
        var complete = from key in keys from token in Tokens from response in Responses from retention in durations select new KeyOperation(OperationKind.Complete, key, 0, retention, token, response);
        var release = from key in keys from token in Tokens select new KeyOperation(OperationKind.Release, key, 0, TimeSpan.Zero, token, 0);
        var advance = from wait in Advances(profile) select new KeyOperation(OperationKind.Advance, 0, 0, wait, default, 0);
        return Mix(profile, timed, (35, begin), (12, renew), (22, complete), (12, release), advance);
    }

    private static Gen<StreamOperation> StreamOperations(PropertyTimeProfile profile, bool timed)
    {
        var durations = Durations(profile, timed);
        // Mostly the first stream, so a sequence gets far enough along one to reach small windows' edges and newer epochs.
        var streams = Gen.Frequency((75, Gen.Constant(0)), (25, Gen.Constant(1)));
        var epochs = Gen.Frequency(
            (80, Gen.Constant((EpochChoice.Current, 0L))),
            (8, Gen.Constant((EpochChoice.Newer, 0L))),
            (6, Gen.Constant((EpochChoice.Older, 0L))),
            (6, Gen.Elements(FixedEpochs).Select(epoch => (EpochChoice.Fixed, epoch))));
        var numbers = Gen.Frequency(
            (50, Gen.Constant((NumberChoice.Next, 0L))),
            (30, Gen.Choose(0, 3).Select(distance => (NumberChoice.Behind, (long)distance))),
            (8, Gen.Choose(1, 2).Select(distance => (NumberChoice.Ahead, (long)distance))),
            (12, Gen.Elements(FixedNumbers).Select(number => (NumberChoice.Fixed, number))));
        var begin =
            from stream in streams
            from epoch in epochs
            from number in numbers
            from fingerprint in Fingerprints
            from lease in durations
            select new StreamOperation(OperationKind.Begin, stream, epoch.Item1, epoch.Item2, number.Item1, number.Item2, fingerprint, lease, default, 0, 1);
        var renew = from stream in streams from token in Tokens from lease in durations select Owner(OperationKind.Renew, stream, lease, token, 0, 1);
        var complete =
            from stream in streams
            from token in Tokens
            from response in Responses
            from window in Gen.Elements(Windows)
            from retention in durations
            select Owner(OperationKind.Complete, stream, retention, token, response, window);
        var release = from stream in streams from token in Tokens select Owner(OperationKind.Release, stream, TimeSpan.Zero, token, 0, 1);
        var advance = from wait in Advances(profile) select Owner(OperationKind.Advance, 0, wait, default, 0, 1);
        return Mix(profile, timed, (45, begin), (10, renew), (22, complete), (10, release), advance);
    }

    private static Gen<T> Mix<T>(PropertyTimeProfile profile, bool timed, (int, Gen<T>) begin, (int, Gen<T>) renew, (int, Gen<T>) complete, (int, Gen<T>) release, Gen<T> advance)
        => timed && profile.AdvanceWeight > 0
            ? Gen.Frequency(begin, renew, complete, release, (profile.AdvanceWeight, advance))
            : Gen.Frequency(begin, renew, complete, release);

    private static StreamOperation Owner(OperationKind kind, int stream, TimeSpan duration, TokenRef token, int response, int window)
        => new(kind, stream, EpochChoice.Current, 0, NumberChoice.Next, 0, 0, duration, token, response, window);

    private static Gen<TimeSpan> Durations(PropertyTimeProfile profile, bool timed)
        => timed && profile.TimedDurations.Count > 0 ? Gen.Elements<TimeSpan>(profile.TimedDurations) : Gen.Constant(profile.UntimedDuration);

    private static Gen<TimeSpan> Advances(PropertyTimeProfile profile)
        => profile.Advances.Count > 0 ? Gen.Elements<TimeSpan>(profile.Advances) : Gen.Constant(TimeSpan.Zero);

    /// <summary>
    /// Shorter sequences first (halves, quarters, ... down to single steps removed), then two advances in a row made
    /// one, then single steps made plainer. FsCheck keeps the first candidate that still fails and shrinks again, so a
    /// failure ends as a sequence from which no step can be removed.
    /// </summary>
    private static IEnumerable<T[]> Shrink<T>(T[] operations, Func<T, IEnumerable<T>> simplify, Func<T, T, T> joinAdvances)
        where T : IStoreOperation
    {
        for (var size = operations.Length / 2; size >= 1; size /= 2)
        {
            for (var start = 0; start + size <= operations.Length; start += size)
            {
                yield return [.. operations[..start], .. operations[(start + size)..]];
            }
        }

        for (var i = 0; i + 1 < operations.Length; i++)
        {
            if (operations[i].Kind == OperationKind.Advance && operations[i + 1].Kind == OperationKind.Advance)
            {
                yield return [.. operations[..i], joinAdvances(operations[i], operations[i + 1]), .. operations[(i + 2)..]];
            }
        }

        for (var i = 0; i < operations.Length; i++)
        {
            foreach (var plainer in simplify(operations[i]))
            {
                var copy = (T[])operations.Clone();
                copy[i] = plainer;
                yield return copy;
            }
        }
    }

    private static IEnumerable<KeyOperation> Simplify(KeyOperation operation)
    {
        if (operation.Token.Choice != TokenChoice.Latest)
        {
            yield return operation with { Token = new TokenRef(TokenChoice.Latest, 0) };
        }

        if (operation.Fingerprint != 0)
        {
            yield return operation with { Fingerprint = 0 };
        }
    }

    private static IEnumerable<StreamOperation> Simplify(StreamOperation operation)
    {
        if (operation.Token.Choice != TokenChoice.Latest)
        {
            yield return operation with { Token = new TokenRef(TokenChoice.Latest, 0) };
        }

        if (operation.Fingerprint != 0)
        {
            yield return operation with { Fingerprint = 0 };
        }

        if (operation.Epoch != EpochChoice.Current)
        {
            yield return operation with { Epoch = EpochChoice.Current, EpochValue = 0 };
        }

        if (operation.Number != NumberChoice.Next)
        {
            yield return operation with { Number = NumberChoice.Next, NumberValue = 0 };
        }
    }
}
