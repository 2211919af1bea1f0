using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Idempotency.Policies;
using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Workers;

public sealed class IdempotentExecutorTests
{
    private static readonly byte[] Payload = Encoding.UTF8.GetBytes("{\"order\":42}");

    [Fact]
    public async Task Each_of_1000_messages_delivered_twice_concurrently_to_two_consumers_runs_once()
    {
        await using var host = WorkerHost.Start();
        var messages = Enumerable.Range(0, 1000).Select(i => $"message-{i}").ToArray();
        var executions = new ConcurrentDictionary<string, int>();
        var results = new ConcurrentDictionary<string, ConcurrentBag<IdempotentResult<Receipt>>>();

        async Task ConsumeAsync(IEnumerable<string> deliveries)
        {
            await Parallel.ForEachAsync(deliveries, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (message, token) =>
            {
                var result = await host.Executor.ExecuteAsync(
                    new IdempotentOperation(message, Encoding.UTF8.GetBytes(message)),
                    async ct =>
                    {
                        var n = executions.AddOrUpdate(message, 1, static (_, count) => count + 1);
                        await Task.Yield();
                        return new Receipt(message, n, "done");
                    },
                    WorkerJsonContext.Default.Receipt,
                    token);
                results.GetOrAdd(message, static _ => []).Add(result);
            });
        }

        // The two consumers receive every message, one in order and one in reverse, at the same time.
        await Task.WhenAll(Task.Run(() => ConsumeAsync(messages)), Task.Run(() => ConsumeAsync(messages.Reverse())));

        foreach (var message in messages)
        {
            Assert.Equal(1, executions[message]);
            var deliveries = results[message];
            Assert.Equal(2, deliveries.Count);
            Assert.Single(deliveries, static result => !result.IsReplay);
            Assert.All(deliveries, result => Assert.Equal(new Receipt(message, 1, "done"), result.Value));
        }
    }

    [Fact]
    public async Task A_retry_gets_the_first_executions_result_as_a_replay_without_running_the_work()
    {
        await using var host = WorkerHost.Start();
        var runs = 0;
        ValueTask<Receipt> Work(CancellationToken _) => ValueTask.FromResult(new Receipt("m", Interlocked.Increment(ref runs), DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture)));

        var first = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, WorkerJsonContext.Default.Receipt);
        var retry = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, WorkerJsonContext.Default.Receipt);

        Assert.False(first.IsReplay);
        Assert.Equal(IdempotencyOutcome.Executed, first.Outcome);
        Assert.True(retry.IsReplay);
        Assert.Equal(IdempotencyOutcome.Replayed, retry.Outcome);
        Assert.Equal(first.Value, retry.Value);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task The_state_overload_passes_its_state_to_the_work()
    {
        await using var host = WorkerHost.Start();

        var result = await host.Executor.ExecuteAsync(
            new IdempotentOperation("m", Payload),
            "from state",
            static (text, _) => ValueTask.FromResult(new Receipt("m", 1, text)),
            WorkerJsonContext.Default.Receipt);

        Assert.Equal("from state", result.Value.Text);
    }

    [Fact]
    public async Task A_type_info_from_reflection_based_options_round_trips_the_result_through_the_store()
    {
        await using var host = WorkerHost.Start();
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.MakeReadOnly(populateMissingResolver: true);
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<Receipt>)options.GetTypeInfo(typeof(Receipt));

        var first = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", 1, "x")), typeInfo);
        var retry = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", 2, "y")), typeInfo);

        Assert.Equal(first.Value, retry.Value);
        Assert.True(retry.IsReplay);
    }

    [Fact]
    public async Task A_key_reused_with_another_payload_throws_payload_mismatch_and_does_not_run_the_work()
    {
        await using var host = WorkerHost.Start();
        var runs = 0;
        await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", ++runs, "a")), WorkerJsonContext.Default.Receipt);

        var conflict = await Assert.ThrowsAsync<IdempotencyConflictException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", "{\"order\":43}"u8.ToArray()), _ => ValueTask.FromResult(new Receipt("m", ++runs, "b")), WorkerJsonContext.Default.Receipt));

        Assert.Equal(IdempotencyConflictReason.PayloadMismatch, conflict.Reason);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Work_that_throws_releases_the_record_and_a_retry_runs_again()
    {
        await using var host = WorkerHost.Start();
        var runs = 0;

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await host.Executor.ExecuteAsync(
                new IdempotentOperation("m", Payload),
                _ =>
                {
                    runs++;
                    throw new InvalidOperationException("downstream refused");
                },
                WorkerJsonContext.Default.Receipt));
        var retry = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", ++runs, "ok")), WorkerJsonContext.Default.Receipt);

        Assert.Equal("downstream refused", failure.Message);
        Assert.Equal(1, host.Store.Releases);
        Assert.False(retry.IsReplay);
        Assert.Equal(2, retry.Value.Execution);
    }

    [Fact]
    public async Task A_concurrent_duplicate_waits_for_the_first_execution_and_gets_its_result()
    {
        await using var host = WorkerHost.Start();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        async ValueTask<Receipt> Work(CancellationToken _)
        {
            var n = Interlocked.Increment(ref runs);
            started.TrySetResult();
            await gate.Task;
            return new Receipt("m", n, "first");
        }

        var first = host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, WorkerJsonContext.Default.Receipt).AsTask();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var duplicate = host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, WorkerJsonContext.Default.Receipt).AsTask();
        await Task.Delay(50);
        Assert.False(duplicate.IsCompleted);

        gate.SetResult();
        var original = await first;
        var replay = await duplicate.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, runs);
        Assert.True(replay.IsReplay);
        Assert.Equal(original.Value, replay.Value);
    }

    [Fact]
    public async Task A_concurrent_duplicate_that_outwaits_the_policy_throws_in_flight()
    {
        await using var host = WorkerHost.Start();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var operation = new IdempotentOperation("m", Payload) { PolicyName = "short-wait" };
        var first = host.Executor.ExecuteAsync(
            operation,
            async _ =>
            {
                started.TrySetResult();
                await gate.Task;
                return new Receipt("m", 1, "first");
            },
            WorkerJsonContext.Default.Receipt).AsTask();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var conflict = await Assert.ThrowsAsync<IdempotencyConflictException>(async () =>
            await host.Executor.ExecuteAsync(operation, _ => ValueTask.FromResult(new Receipt("m", 2, "second")), WorkerJsonContext.Default.Receipt));

        Assert.Equal(IdempotencyConflictReason.InFlight, conflict.Reason);
        gate.SetResult();
        Assert.False((await first).IsReplay);
    }

    [Fact]
    public async Task Work_that_outlives_its_lease_is_taken_over_and_its_late_result_is_fenced_off()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
        await using var host = WorkerHost.Start(time: time);
        host.Store.RenewOverride = static () => throw new InvalidOperationException("renewals fail");
        var operation = new IdempotentOperation("m", Payload) { PolicyName = "short-lease" };
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var late = host.Executor.ExecuteAsync(
            operation,
            async _ =>
            {
                started.TrySetResult();
                await gate.Task;
                return new Receipt("m", 1, "late");
            },
            WorkerJsonContext.Default.Receipt).AsTask();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        time.Advance(TimeSpan.FromSeconds(4));
        var newer = await host.Executor.ExecuteAsync(operation, _ => ValueTask.FromResult(new Receipt("m", 2, "newer")), WorkerJsonContext.Default.Receipt);
        gate.SetResult();
        var lateResult = await late;
        var replay = await host.Executor.ExecuteAsync(operation, _ => ValueTask.FromResult(new Receipt("m", 3, "never")), WorkerJsonContext.Default.Receipt);

        Assert.Equal(IdempotencyOutcome.Executed, newer.Outcome);
        Assert.Equal("late", lateResult.Value.Text);
        Assert.Equal(2, host.Store.Completions);
        Assert.True(replay.IsReplay);
        Assert.Equal("newer", replay.Value.Text);
    }

    [Fact]
    public async Task A_cancelled_token_throws_before_any_store_call()
    {
        await using var host = WorkerHost.Start();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", 1, "x")), WorkerJsonContext.Default.Receipt, cancelled.Token));

        Assert.Equal(0, host.Store.TotalCalls);
    }

    [Fact]
    public async Task Work_cancelled_by_its_token_releases_the_record_and_a_retry_runs_again()
    {
        await using var host = WorkerHost.Start();
        using var cancellation = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await host.Executor.ExecuteAsync(
                new IdempotentOperation("m", Payload),
                async token =>
                {
                    await cancellation.CancelAsync();
                    token.ThrowIfCancellationRequested();
                    return new Receipt("m", 1, "never");
                },
                WorkerJsonContext.Default.Receipt,
                cancellation.Token));
        var retry = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", 2, "ran")), WorkerJsonContext.Default.Receipt);

        Assert.Equal(1, host.Store.Releases);
        Assert.Equal("ran", retry.Value.Text);
        Assert.False(retry.IsReplay);
    }

    [Fact]
    public async Task A_duplicate_waiting_for_the_first_stops_waiting_when_cancelled()
    {
        await using var host = WorkerHost.Start();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = host.Executor.ExecuteAsync(
            new IdempotentOperation("m", Payload),
            async _ =>
            {
                started.TrySetResult();
                await gate.Task;
                return new Receipt("m", 1, "first");
            },
            WorkerJsonContext.Default.Receipt).AsTask();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", 2, "second")), WorkerJsonContext.Default.Receipt, cancellation.Token));

        gate.SetResult();
        Assert.Equal("first", (await first).Value.Text);
    }

    [Fact]
    public async Task An_unavailable_store_throws_store_unavailable_and_the_work_does_not_run()
    {
        await using var host = WorkerHost.Start();
        host.Store.BeginOverride = static () => throw new IdempotencyStoreUnavailableException("redis is down");
        var runs = 0;

        await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", ++runs, "x")), WorkerJsonContext.Default.Receipt));

        Assert.Equal(0, runs);
    }

    [Fact]
    public async Task A_store_that_does_not_answer_within_the_store_timeout_throws_store_unavailable()
    {
        await using var host = WorkerHost.Start(options => options.StoreTimeout = TimeSpan.FromMilliseconds(200));
        var never = new TaskCompletionSource<IdempotencyBeginResult>();
        host.Store.BeginOverride = () => new ValueTask<IdempotencyBeginResult>(never.Task);

        var unavailable = await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", 1, "x")), WorkerJsonContext.Default.Receipt));

        Assert.IsType<TimeoutException>(unavailable.InnerException);
    }

    [Fact]
    public async Task A_fail_open_policy_runs_the_work_unprotected_when_the_store_is_unavailable()
    {
        await using var host = WorkerHost.Start();
        host.Store.BeginOverride = static () => throw new IdempotencyStoreUnavailableException("redis is down");
        var operation = new IdempotentOperation("m", Payload) { PolicyName = "fail-open" };
        var runs = 0;

        var first = await host.Executor.ExecuteAsync(operation, _ => ValueTask.FromResult(new Receipt("m", ++runs, "x")), WorkerJsonContext.Default.Receipt);
        var second = await host.Executor.ExecuteAsync(operation, _ => ValueTask.FromResult(new Receipt("m", ++runs, "x")), WorkerJsonContext.Default.Receipt);

        Assert.Equal(IdempotencyOutcome.FailOpen, first.Outcome);
        Assert.False(first.IsReplay);
        Assert.Equal(2, runs);
        Assert.Equal(0, host.Store.Completions);
    }

    [Fact]
    public async Task A_result_over_the_snapshot_limit_is_returned_once_and_a_retry_throws_not_replayable_without_running_again()
    {
        await using var host = WorkerHost.Start();
        var operation = new IdempotentOperation("m", Payload) { PolicyName = "small" };
        var runs = 0;

        var first = await host.Executor.ExecuteAsync(operation, _ => ValueTask.FromResult(new Receipt("m", ++runs, new string('x', 100))), WorkerJsonContext.Default.Receipt);
        var conflict = await Assert.ThrowsAsync<IdempotencyConflictException>(async () =>
            await host.Executor.ExecuteAsync(operation, _ => ValueTask.FromResult(new Receipt("m", ++runs, "small")), WorkerJsonContext.Default.Receipt));

        Assert.Equal(100, first.Value.Text.Length);
        Assert.Equal(IdempotencyConflictReason.ResultNotReplayable, conflict.Reason);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task The_same_key_in_two_scopes_is_two_operations()
    {
        await using var host = WorkerHost.Start();
        var runs = 0;

        var tenantA = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload) { Scope = "tenant-a" }, _ => ValueTask.FromResult(new Receipt("m", ++runs, "a")), WorkerJsonContext.Default.Receipt);
        var tenantB = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload) { Scope = "tenant-b" }, _ => ValueTask.FromResult(new Receipt("m", ++runs, "b")), WorkerJsonContext.Default.Receipt);
        var unscoped = await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), _ => ValueTask.FromResult(new Receipt("m", ++runs, "none")), WorkerJsonContext.Default.Receipt);

        Assert.Equal(3, runs);
        Assert.False(tenantA.IsReplay || tenantB.IsReplay || unscoped.IsReplay);
    }

    [Fact]
    public async Task An_unknown_policy_or_an_unusable_key_is_refused_before_any_store_call()
    {
        await using var host = WorkerHost.Start();

        var unknown = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload) { PolicyName = "nope" }, _ => ValueTask.FromResult(new Receipt("m", 1, "x")), WorkerJsonContext.Default.Receipt));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("", Payload), _ => ValueTask.FromResult(new Receipt("m", 1, "x")), WorkerJsonContext.Default.Receipt));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation(new string('k', 256), Payload), _ => ValueTask.FromResult(new Receipt("m", 1, "x")), WorkerJsonContext.Default.Receipt));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload) { Scope = "" }, _ => ValueTask.FromResult(new Receipt("m", 1, "x")), WorkerJsonContext.Default.Receipt));

        Assert.Contains("'nope'", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.Store.TotalCalls);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("anonymous")]
    [InlineData("alice")]
    [InlineData("custom:alice")]
    public void A_worker_scope_is_a_kind_no_HTTP_scope_can_equal(string? scope)
    {
        var worker = PrincipalScope.Worker(scope);

        Assert.NotEqual(PrincipalScope.Anonymous, worker);
        Assert.NotEqual(PrincipalScope.Custom(scope ?? "worker"), worker);
        Assert.NotEqual(PrincipalScope.Custom("worker:" + scope), worker);
    }
}
