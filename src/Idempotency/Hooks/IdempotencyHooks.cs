using Idempotency.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Hooks;

/// <summary>
/// Calls the hooks of <see cref="IdempotencyOptions"/>. An unset hook costs a null check; a hook that throws is
/// logged and changes nothing: by the time a hook runs the response and the record are decided, and an application's
/// observer must never turn a replay into a second execution, or any answer into a 500.
/// </summary>
internal sealed class IdempotencyHooks
{
    private readonly Func<OnReplayedArguments, ValueTask>? _onReplayed;
    private readonly Func<OnRejectedArguments, ValueTask>? _onRejected;
    private readonly Func<OnLeaseLostArguments, ValueTask>? _onLeaseLost;
    private readonly Func<OnFailOpenArguments, ValueTask>? _onFailOpen;
    private readonly ILogger _logger;

    public IdempotencyHooks(IOptions<IdempotencyOptions> options, ILogger<IdempotencyHooks> logger)
    {
        var value = options.Value;
        _onReplayed = value.OnReplayed;
        _onRejected = value.OnRejected;
        _onLeaseLost = value.OnLeaseLost;
        _onFailOpen = value.OnFailOpen;
        _logger = logger;
    }

    public bool HasOnRejected => _onRejected is not null;

    public ValueTask ReplayedAsync(HttpContext? context, string policyName, int statusCode)
        => _onReplayed is null ? default : InvokeAsync(_onReplayed, new OnReplayedArguments(context, policyName, statusCode), nameof(IdempotencyOptions.OnReplayed), policyName);

    public ValueTask RejectedAsync(HttpContext? context, string policyName, string problemType, int statusCode)
        => _onRejected is null ? default : InvokeAsync(_onRejected, new OnRejectedArguments(context, policyName, problemType, statusCode), nameof(IdempotencyOptions.OnRejected), policyName);

    public ValueTask LeaseLostAsync(HttpContext? context, string policyName)
        => _onLeaseLost is null ? default : InvokeAsync(_onLeaseLost, new OnLeaseLostArguments(context, policyName), nameof(IdempotencyOptions.OnLeaseLost), policyName);

    public ValueTask FailOpenAsync(HttpContext? context, string policyName, Exception exception)
        => _onFailOpen is null ? default : InvokeAsync(_onFailOpen, new OnFailOpenArguments(context, policyName, exception), nameof(IdempotencyOptions.OnFailOpen), policyName);

    /// <summary>Runs a replayed response's write, then <see cref="IdempotencyOptions.OnReplayed"/>; just the write when it is unset.</summary>
    public Task AfterReplayAsync(Task write, HttpContext context, string policyName, int statusCode)
        => _onReplayed is null ? write : AwaitThenReplayedAsync(write, context, policyName, statusCode);

    private async Task AwaitThenReplayedAsync(Task write, HttpContext context, string policyName, int statusCode)
    {
        await write.ConfigureAwait(false);
        await ReplayedAsync(context, policyName, statusCode).ConfigureAwait(false);
    }

    private async ValueTask InvokeAsync<TArguments>(Func<TArguments, ValueTask> hook, TArguments arguments, string hookName, string policyName)
    {
        try
        {
            await hook(arguments).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            IdempotencyLog.HookFailed(_logger, hookName, policyName, ex);
        }
    }
}
