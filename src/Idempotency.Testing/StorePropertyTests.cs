using System.Diagnostics;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Idempotency.Storage;
using Idempotency.Testing.Properties;
using Microsoft.FSharp.Core;
using Xunit;
using Xunit.Abstractions;

namespace Idempotency.Testing;

/// <summary>
/// Property-based tests of the store contract: FsCheck generates random sequences of store operations over a few keys
/// and streams, and every answer of the store under test must equal the answer of a plain reference model
/// (<see cref="KeyStoreModel"/>, <see cref="StreamStoreModel"/>). A failure is shrunk to a sequence from which no step
/// can be removed and reported step by step. Derive a class from this one in the store's test project, once per store
/// configuration, like the conformance suites, and implement <see cref="CreateStoreAsync"/>,
/// <see cref="AdvanceTimeAsync"/> and <see cref="TimeProfile"/>. This class checks keyed records; a store that also
/// keeps sequence streams derives from <see cref="SequenceStorePropertyTests"/> instead, which checks both.
/// </summary>
/// <remarks>
/// What a run covers depends on <see cref="TimeProfile"/>: a store on a fake clock is checked with expiries anywhere,
/// boundaries included; a store on real time only with durations far shorter or far longer than its waits.
/// <see cref="RunsVariable"/> raises the number of sequences for a long run; <see cref="ReplayVariable"/> replays a
/// reported failure.
/// </remarks>
public abstract class StorePropertyTests(ITestOutputHelper output)
{
    /// <summary>The number of sequences each property runs, instead of <see cref="DefaultRuns"/>.</summary>
    public const string RunsVariable = "IDEMPOTENCY_PROPERTY_RUNS";

    /// <summary>"seed,gamma" (as FsCheck prints them on a failure) to run the same sequences again.</summary>
    public const string ReplayVariable = "IDEMPOTENCY_PROPERTY_REPLAY";

    /// <summary>A fresh store whose keys and streams are isolated from every other run (each sequence gets its own).</summary>
    protected abstract Task<IIdempotencyStore> CreateStoreAsync();

    /// <summary>Lets at least <paramref name="duration"/> pass on the clock of the store last created.</summary>
    protected abstract Task AdvanceTimeAsync(TimeSpan duration);

    /// <summary>Which durations and advances the sequences use; see the profiles for what each covers.</summary>
    protected abstract PropertyTimeProfile TimeProfile { get; }

    /// <summary>How many sequences each property runs by default: enough to find a difference, few enough for the default suite.</summary>
    protected virtual int DefaultRuns => 150;

    /// <summary>The longest sequence.</summary>
    protected virtual int MaxOperations => 30;

    /// <summary>Frees a store after its sequence; nothing by default.</summary>
    protected virtual ValueTask DisposeStoreAsync(IIdempotencyStore store) => ValueTask.CompletedTask;

    [Fact]
    public Task Key_mode_operations_answer_as_the_reference_model()
        => CheckAsync(
            StoreOperationGenerators.KeySequences(TimeProfile, MaxOperations),
            (store, statistics, operations) => new KeySequenceRun(store, AdvanceTimeAsync, TimeProfile, statistics).ExecuteAsync(operations));

    private protected async Task CheckAsync<T>(Arbitrary<T[]> sequences, Func<IIdempotencyStore, PropertyStatistics, T[], Task> run)
    {
        var statistics = new PropertyStatistics();
        var property = Prop.ForAll(sequences, operations => RunOneAsync(run, statistics, operations).GetAwaiter().GetResult());

        var runs = Runs();
        var config = Config.QuickThrowOnFailure.WithMaxTest(runs).WithQuietOnSuccess(true);
        if (Replay() is { } replay)
        {
            config = config.WithReplay(FSharpOption<FsCheck.Replay>.Some(replay));
        }

        var elapsed = Stopwatch.StartNew();

        // Off the test's synchronization context, because each run is waited for by blocking: FsCheck would wrap the
        // exception of a faulted task in an AggregateException and so take a discarded run (DiscardException) for a failure.
        await Task.Run(() => Check.One(config, property));
        output.WriteLine($"{runs} sequences of up to {MaxOperations} operations passed in {elapsed.Elapsed.TotalSeconds:F1} s; {TimeProfile}.");
        output.WriteLine(statistics.ToString());

        // On a real clock a busy machine discards timed sequences and FsCheck draws others in their place, mostly
        // untimed when few are timed: the run would pass having judged no expiry at all. Each judged sequence is timed
        // with the profile's odds, so fewer than four standard deviations below the expected count is not chance.
        if (TimeProfile.RealTimeBudget is not null && Replay() is null)
        {
            var expected = runs * TimeProfile.TimedPercent / 100.0;
            var minimum = (int)Math.Max(0, Math.Floor(expected - (4 * Math.Sqrt(expected * (1 - (TimeProfile.TimedPercent / 100.0))))));
            Assert.True(
                statistics.JudgedTimed >= minimum,
                $"Only {statistics.JudgedTimed} of {runs} judged sequences let time pass (expected about {expected:F0}, at least {minimum}); {statistics.Discarded} were discarded because the machine was too slow for the real clock.");
        }
    }

    private async Task<bool> RunOneAsync<T>(Func<IIdempotencyStore, PropertyStatistics, T[], Task> run, PropertyStatistics statistics, T[] operations)
    {
        var store = await CreateStoreAsync();
        try
        {
            await run(store, statistics, operations);
            return true;
        }
        finally
        {
            await DisposeStoreAsync(store);
        }
    }

    private int Runs()
        => Environment.GetEnvironmentVariable(RunsVariable) is { Length: > 0 } text
            ? int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture)
            : DefaultRuns;

    private static FsCheck.Replay? Replay()
    {
        if (Environment.GetEnvironmentVariable(ReplayVariable) is not { Length: > 0 } text)
        {
            return null;
        }

        var parts = text.Trim('(', ')', ' ').Split(',', StringSplitOptions.TrimEntries);
        var seed = new Rnd(ulong.Parse(parts[0], CultureInfo.InvariantCulture), ulong.Parse(parts[1], CultureInfo.InvariantCulture));
        return new FsCheck.Replay(seed, FSharpOption<int>.None);
    }
}
