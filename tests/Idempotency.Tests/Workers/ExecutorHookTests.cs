using System.Collections.Concurrent;
using System.Text;
using Idempotency.Storage;
using Idempotency.Tests.Infrastructure;

namespace Idempotency.Tests.Workers;

/// <summary>The options' hooks hear of a worker's operations as of HTTP requests, with no request to hand.</summary>
public sealed class ExecutorHookTests
{
    private static readonly byte[] Payload = Encoding.UTF8.GetBytes("{\"order\":42}");

    [Fact]
    public async Task A_replayed_operation_raises_OnReplayed_without_a_request()
    {
        var heard = new ConcurrentQueue<OnReplayedArguments>();
        await using var host = WorkerHost.Start(o => o.OnReplayed = a => { heard.Enqueue(a); return default; });

        await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, WorkerJsonContext.Default.Receipt);
        Assert.Empty(heard);
        await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, WorkerJsonContext.Default.Receipt);

        var replayed = Assert.Single(heard);
        Assert.Null(replayed.Context);
        Assert.Equal(IdempotencyOptions.DefaultPolicyName, replayed.PolicyName);
        Assert.Equal(200, replayed.StatusCode);
    }

    [Fact]
    public async Task A_payload_mismatch_raises_OnRejected_with_the_problem_an_HTTP_caller_would_get()
    {
        var heard = new ConcurrentQueue<OnRejectedArguments>();
        await using var host = WorkerHost.Start(o => o.OnRejected = a => { heard.Enqueue(a); return default; });

        await host.Executor.ExecuteAsync(new IdempotentOperation("m", Payload), Work, WorkerJsonContext.Default.Receipt);
        await Assert.ThrowsAsync<IdempotencyConflictException>(async () =>
            await host.Executor.ExecuteAsync(new IdempotentOperation("m", "other"u8.ToArray()), Work, WorkerJsonContext.Default.Receipt));

        var rejected = Assert.Single(heard);
        Assert.Null(rejected.Context);
        Assert.Equal("idempotency-key-reused", rejected.ProblemType);
        Assert.Equal(422, rejected.StatusCode);
    }

    [Fact]
    public async Task Failing_open_raises_OnFailOpen_with_the_stores_exception_and_a_throwing_hook_changes_nothing()
    {
        var heard = new ConcurrentQueue<OnFailOpenArguments>();
        await using var host = WorkerHost.Start(o => o.OnFailOpen = a =>
        {
            heard.Enqueue(a);
            throw new InvalidOperationException("a broken observer");
        });
        var down = new IdempotencyStoreUnavailableException("redis is down");
        host.Store.BeginOverride = () => throw down;

        var result = await host.Executor.ExecuteAsync(
            new IdempotentOperation("m", Payload) { PolicyName = "fail-open" }, Work, WorkerJsonContext.Default.Receipt);

        Assert.Equal(IdempotencyOutcome.FailOpen, result.Outcome);
        var failOpen = Assert.Single(heard);
        Assert.Same(down, failOpen.Exception);
        Assert.Equal("fail-open", failOpen.PolicyName);
    }

    private static ValueTask<Receipt> Work(CancellationToken cancellationToken) => ValueTask.FromResult(new Receipt("m", 1, "done"));
}
