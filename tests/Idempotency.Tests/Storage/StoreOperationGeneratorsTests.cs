using FsCheck;
using FsCheck.Fluent;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Idempotency.Testing.Properties;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Storage;

/// <summary>
/// The property tests are only as good as the sequences they generate: with a fixed seed, the default number of
/// sequences must reach every outcome of every store operation, so a generator change that quietly stops producing
/// (say) already-applied numbers or accepted renews fails here instead of leaving a case untested.
/// </summary>
public sealed class StoreOperationGeneratorsTests
{
    private const int Sequences = 200;

    [Fact]
    public async Task Key_sequences_reach_every_outcome_of_every_operation()
    {
        var statistics = await RunAsync(
            StoreOperationGenerators.KeySequences(PropertyTimeProfile.FakeClock, 30),
            (store, advance, statistics) => new KeySequenceRun(store, advance, PropertyTimeProfile.FakeClock, statistics));

        AssertReached(statistics, "key", ["Acquired", "InFlight", "Completed", "FingerprintMismatch"]);
    }

    [Fact]
    public async Task Stream_sequences_reach_every_outcome_of_every_operation()
    {
        var statistics = await RunAsync(
            StoreOperationGenerators.StreamSequences(PropertyTimeProfile.FakeClock, 30),
            (store, advance, statistics) => new StreamSequenceRun(store, advance, PropertyTimeProfile.FakeClock, statistics));

        AssertReached(statistics, "stream", ["Acquired", "InFlight", "Completed", "FingerprintMismatch", "AlreadyApplied", "Gap", "EpochFenced"]);
    }

    [Fact]
    public void Real_clock_sequences_wait_at_most_once_and_only_with_short_durations_around()
    {
        var profile = PropertyTimeProfile.RealClock(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(700), timedPercent: 50);

        var sequences = Sample(StoreOperationGenerators.StreamSequences(profile, 30));

        Assert.All(sequences, operations => Assert.True(operations.Count(o => o.Kind == OperationKind.Advance) <= 1));
        Assert.Contains(sequences, operations => operations.Any(o => o.Kind == OperationKind.Advance));
        Assert.All(
            sequences.Where(operations => operations.All(o => o.Kind != OperationKind.Advance)),
            operations => Assert.All(operations.Where(o => o.Duration > TimeSpan.Zero), o => Assert.Equal(TimeSpan.FromMinutes(10), o.Duration)));
    }

    private static T[][] Sample<T>(Arbitrary<T[]> sequences)
        => sequences.Generator.Sample(Sequences, new Rnd(20261123UL), size: 50);

    /// <summary>Runs the sample against fresh in-memory stores on fake clocks; a difference from the model fails the test too.</summary>
    private static async Task<PropertyStatistics> RunAsync<T>(
        Arbitrary<T[]> sequences, Func<IIdempotencySequenceStore, Func<TimeSpan, Task>, PropertyStatistics, SequenceRun<T>> runOf)
        where T : IStoreOperation
    {
        var statistics = new PropertyStatistics();
        foreach (var operations in Sample(sequences))
        {
            var time = new FakeTimeProvider();
            using var store = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), time);
            Func<TimeSpan, Task> advance = duration =>
            {
                time.Advance(duration);
                return Task.CompletedTask;
            };
            await runOf(store, advance, statistics).ExecuteAsync(operations);
        }

        return statistics;
    }

    private static void AssertReached(PropertyStatistics statistics, string mode, string[] beginStatuses)
    {
        foreach (var status in beginStatuses)
        {
            Assert.True(statistics.Outcomes.ContainsKey($"{mode} Begin: {status}"), $"No generated {mode} begin was answered {status}.\n{statistics}");
        }

        foreach (var operation in new[] { "Renew", "Complete", "Release" })
        {
            foreach (var outcome in new[] { "accepted", "refused" })
            {
                Assert.True(statistics.Outcomes.ContainsKey($"{mode} {operation}: {outcome}"), $"No generated {mode} {operation.ToLowerInvariant()} was {outcome}.\n{statistics}");
            }
        }
    }
}
