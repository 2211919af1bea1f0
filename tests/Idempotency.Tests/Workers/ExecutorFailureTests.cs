using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Workers;

/// <summary>What a worker's caller gets when something other than its work fails, and that the work never runs twice for it.</summary>
public sealed class ExecutorFailureTests
{
    private static readonly byte[] Payload = Encoding.UTF8.GetBytes("{\"order\":42}");

    [Fact]
    public async Task A_result_that_cannot_be_serialized_goes_to_the_first_caller_and_a_redelivery_never_runs_the_work_again()
    {
        await using var host = WorkerHost.Start();
        var typeInfo = (JsonTypeInfo<double>)JsonSerializerOptions.Default.GetTypeInfo(typeof(double));
        var runs = 0;
        ValueTask<double> Work(CancellationToken _)
        {
            Interlocked.Increment(ref runs);
            return ValueTask.FromResult(double.NaN);
        }

        var first = await Assert.ThrowsAsync<IdempotencyConflictException>(async () => await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, typeInfo));
        var redelivery = await Assert.ThrowsAsync<IdempotencyConflictException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, typeInfo));

        // The first caller can tell "ran, result lost" from its work throwing: the reason, with the serializer's error inside.
        Assert.Equal(IdempotencyConflictReason.ResultNotReplayable, first.Reason);
        Assert.IsAssignableFrom<ArgumentException>(first.InnerException);
        Assert.Equal(IdempotencyConflictReason.ResultNotReplayable, redelivery.Reason);
        Assert.DoesNotContain("larger than the policy's MaxSnapshotBytes (", redelivery.Message, StringComparison.Ordinal);
        Assert.Equal(1, runs);
        Assert.Equal(0, host.Store.Releases);
    }

    [Fact]
    public async Task A_getter_that_throws_while_serializing_reaches_the_first_caller_like_any_serialization_failure()
    {
        await using var host = WorkerHost.Start();
        var info = (JsonTypeInfo<Throwing>)JsonSerializerOptions.Default.GetTypeInfo(typeof(Throwing));

        var first = await Assert.ThrowsAsync<IdempotencyConflictException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), static _ => ValueTask.FromResult(new Throwing()), info));

        Assert.IsType<FormatException>(first.InnerException);
        Assert.Equal(0, host.Store.Releases);
    }

    [Fact]
    public async Task A_stored_result_the_callers_type_cannot_read_is_an_unreadable_record_and_the_work_does_not_run()
    {
        await using var host = WorkerHost.Start();
        await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), static _ => ValueTask.FromResult(new Receipt("m", 1, "ok")), WorkerJsonContext.Default.Receipt);
        var intInfo = (JsonTypeInfo<int>)JsonSerializerOptions.Default.GetTypeInfo(typeof(int));
        var runs = 0;

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(Interlocked.Increment(ref runs)), intInfo));

        Assert.IsType<JsonException>(error.InnerException);
        Assert.Equal(0, runs);
    }

    [Fact]
    public async Task A_caller_that_cancels_while_the_store_hangs_gets_a_cancellation_not_a_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
        await using var host = WorkerHost.Start(time: time);
        var hanging = new TaskCompletionSource<IdempotencyBeginResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Store.BeginOverride = () => new ValueTask<IdempotencyBeginResult>(hanging.Task);
        using var cancellation = new CancellationTokenSource();

        var execution = host.Executor.ExecuteAsync(
            new IdempotentOperation("m", Payload), static _ => ValueTask.FromResult(new Receipt("m", 1, "ok")), WorkerJsonContext.Default.Receipt, cancellation.Token).AsTask();
        await cancellation.CancelAsync();
        time.Advance(TimeSpan.FromSeconds(6));

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => execution.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(cancellation.Token, error.CancellationToken);
    }

    public sealed class Throwing
    {
        public string Value => throw new FormatException("getter failed");
    }
}
