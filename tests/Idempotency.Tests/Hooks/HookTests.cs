using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.Hooks;

/// <summary>The hooks of <see cref="IdempotencyOptions"/> fire with their arguments, and one that throws changes nothing.</summary>
public sealed class HookTests
{
    [Fact]
    public async Task OnReplayed_fires_for_a_replay_with_the_policy_and_status_and_not_for_the_first_execution()
    {
        var calls = new ConcurrentQueue<OnReplayedArguments>();
        await using var app = await TestApp.StartAsync(options => options.OnReplayed = arguments =>
        {
            calls.Enqueue(arguments);
            return ValueTask.CompletedTask;
        });

        await app.Client.SendAsync(TestApp.Post("/items", "k-1"));
        Assert.Empty(calls);
        await app.Client.SendAsync(TestApp.Post("/items", "k-1"));

        var call = Assert.Single(calls);
        Assert.Equal(IdempotencyOptions.DefaultPolicyName, call.PolicyName);
        Assert.Equal(201, call.StatusCode);
        Assert.NotNull(call.Context);
    }

    [Fact]
    public async Task OnRejected_fires_with_the_problem_type_status_and_policy()
    {
        var calls = new ConcurrentQueue<OnRejectedArguments>();
        await using var app = await TestApp.StartAsync(options => options.OnRejected = arguments =>
        {
            calls.Enqueue(arguments);
            return ValueTask.CompletedTask;
        });

        await app.Client.SendAsync(TestApp.Post("/items", "k-1"));
        await app.Client.SendAsync(TestApp.Post("/items", "k-1", "{\"amount\":101}"));
        await app.Client.SendAsync(TestApp.Post("/items", key: null));
        await app.Client.SendAsync(TestApp.Post("/seq", key: null));

        Assert.Equal(
            [
                (IdempotencyOptions.DefaultPolicyName, "idempotency-key-reused", 422),
                (IdempotencyOptions.DefaultPolicyName, "idempotency-key-missing", 400),
                ("sequence", "sequence-number-missing", 428),
            ],
            calls.Select(static c => (c.PolicyName, c.ProblemType, c.StatusCode)));
        Assert.All(calls, static c => Assert.NotNull(c.Context));
    }

    [Fact]
    public async Task OnFailOpen_fires_with_the_store_exception_before_the_handler_runs_unprotected()
    {
        var calls = new ConcurrentQueue<OnFailOpenArguments>();
        await using var app = await TestApp.StartAsync(options => options.OnFailOpen = arguments =>
        {
            calls.Enqueue(arguments);
            return ValueTask.CompletedTask;
        });
        app.Store.BeginOverride = static () => throw new IdempotencyStoreUnavailableException("store down");

        var response = await app.Client.SendAsync(TestApp.Post("/fail-open", "k-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(calls);
        Assert.Equal("fail-open", call.PolicyName);
        Assert.IsType<IdempotencyStoreUnavailableException>(call.Exception);
    }

    [Fact]
    public async Task OnLeaseLost_fires_once_when_a_renewal_is_refused()
    {
        var calls = new ConcurrentQueue<OnLeaseLostArguments>();
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            options => options.OnLeaseLost = arguments =>
            {
                calls.Enqueue(arguments);
                fired.TrySetResult();
                return ValueTask.CompletedTask;
            },
            time: new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture)));
        app.Store.RenewOverride = static () => new ValueTask<bool>(false);
        var request = app.Client.SendAsync(TestApp.Post("/gate-short", "k-1"));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        app.Time!.Advance(TimeSpan.FromSeconds(1.1));
        await Task.Delay(100);

        // Raised once the handler is over, never alongside it: the two would share one HttpContext.
        Assert.False(fired.Task.IsCompleted);
        app.Handlers.Gate.SetResult();
        await request;
        await fired.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var call = Assert.Single(calls);
        Assert.Equal("short-lease", call.PolicyName);
        Assert.NotNull(call.Context);
    }

    [Fact]
    public async Task OnLeaseLost_fires_when_the_completion_is_fenced_off()
    {
        var calls = new ConcurrentQueue<OnLeaseLostArguments>();
        await using var app = await TestApp.StartAsync(options => options.OnLeaseLost = arguments =>
        {
            calls.Enqueue(arguments);
            return ValueTask.CompletedTask;
        });
        app.Store.CompleteOverride = static () => new ValueTask<bool>(false);

        var response = await app.Client.SendAsync(TestApp.Post("/items", "k-1"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(IdempotencyOptions.DefaultPolicyName, Assert.Single(calls).PolicyName);
    }

    [Fact]
    public async Task A_throwing_OnReplayed_hook_leaves_the_replay_a_replay()
    {
        await using var app = await TestApp.StartAsync(static options => options.OnReplayed = static _ => throw new InvalidOperationException("hook bug"));

        await app.Client.SendAsync(TestApp.Post("/items", "k-1"));
        var retry = await app.Client.SendAsync(TestApp.Post("/items", "k-1"));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Contains("\"execution\":1", await retry.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task A_throwing_OnRejected_hook_leaves_the_problem_response_as_it_was()
    {
        await using var app = await TestApp.StartAsync(static options => options.OnRejected = static async _ =>
        {
            await Task.Yield();
            throw new InvalidOperationException("hook bug");
        });

        await app.Client.SendAsync(TestApp.Post("/items", "k-1"));
        var reused = await app.Client.SendAsync(TestApp.Post("/items", "k-1", "{\"amount\":101}"));

        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, app.Handlers.Executions("items"));
    }

    [Fact]
    public async Task Throwing_OnFailOpen_and_OnLeaseLost_hooks_change_neither_the_response_nor_the_record()
    {
        await using var app = await TestApp.StartAsync(static options =>
        {
            options.OnFailOpen = static _ => throw new InvalidOperationException("hook bug");
            options.OnLeaseLost = static _ => throw new InvalidOperationException("hook bug");
        });
        app.Store.BeginOverride = static () => throw new IdempotencyStoreUnavailableException("store down");
        var failOpen = await app.Client.SendAsync(TestApp.Post("/fail-open", "k-1"));
        app.Store.BeginOverride = null;
        app.Store.CompleteOverride = static () => new ValueTask<bool>(false);
        var fenced = await app.Client.SendAsync(TestApp.Post("/items", "k-2"));

        Assert.Equal(HttpStatusCode.OK, failOpen.StatusCode);
        Assert.Equal(1, app.Handlers.Executions("fail-open"));
        Assert.Equal(HttpStatusCode.Created, fenced.StatusCode);
        Assert.Equal(0, app.Store.Releases);
    }
}
