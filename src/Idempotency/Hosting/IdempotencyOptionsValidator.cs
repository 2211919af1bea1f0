using Microsoft.Extensions.Options;

namespace Idempotency.Hosting;

/// <summary>Validates <see cref="IdempotencyOptions"/> at start-up, with messages that name the option.</summary>
internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    // A canonical body is held in memory with its parsed index (up to about seven times its size) for each request.
    private const int MaxCanonicalJsonBytesLimit = 16 * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        List<string>? failures = null;

        void Fail(string message) => (failures ??= []).Add(message);

        ValidateHeaderName(options.KeyHeaderName, nameof(IdempotencyOptions.KeyHeaderName), Fail);
        ValidateHeaderName(options.ReplayedHeaderName, nameof(IdempotencyOptions.ReplayedHeaderName), Fail);
        ValidateHeaderName(options.SequenceNumberHeaderName, nameof(IdempotencyOptions.SequenceNumberHeaderName), Fail);
        ValidateHeaderName(options.SequenceStreamHeaderName, nameof(IdempotencyOptions.SequenceStreamHeaderName), Fail);
        ValidateHeaderName(options.SequenceEpochHeaderName, nameof(IdempotencyOptions.SequenceEpochHeaderName), Fail);

        if (options.MaxKeyLength is < 1 or > 4096)
        {
            Fail($"{nameof(IdempotencyOptions.MaxKeyLength)} must be between 1 and 4096; it is {options.MaxKeyLength}.");
        }

        if (string.IsNullOrWhiteSpace(options.ProblemTypeBaseUri))
        {
            Fail($"{nameof(IdempotencyOptions.ProblemTypeBaseUri)} must not be empty.");
        }

        if (options.InFlightRetryAfter <= TimeSpan.Zero)
        {
            Fail($"{nameof(IdempotencyOptions.InFlightRetryAfter)} must be positive; it is {options.InFlightRetryAfter}.");
        }

        if (options.StoreUnavailableRetryAfter <= TimeSpan.Zero)
        {
            Fail($"{nameof(IdempotencyOptions.StoreUnavailableRetryAfter)} must be positive; it is {options.StoreUnavailableRetryAfter}.");
        }

        if (options.StoreTimeout <= TimeSpan.Zero)
        {
            Fail($"{nameof(IdempotencyOptions.StoreTimeout)} must be positive; it is {options.StoreTimeout}.");
        }

        if (options.ScopeResolver is null)
        {
            Fail($"{nameof(IdempotencyOptions.ScopeResolver)} must not be null.");
        }

        ValidatePolicy(options.DefaultPolicy, $"{nameof(IdempotencyOptions.DefaultPolicy)}", Fail);
        foreach (var (policyName, policy) in options.Policies)
        {
            ValidatePolicy(policy, $"Policy '{policyName}'", Fail);
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidatePolicy(IdempotencyPolicy policy, string owner, Action<string> fail)
    {
        if (!Enum.IsDefined(policy.KeyRequirement))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.KeyRequirement)} has an unknown value {policy.KeyRequirement}.");
        }

        if (!Enum.IsDefined(policy.ConcurrentRequests))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.ConcurrentRequests)} has an unknown value {policy.ConcurrentRequests}.");
        }

        if (policy.Lease < TimeSpan.FromMilliseconds(100))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.Lease)} must be at least 100 ms; it is {policy.Lease}.");
        }

        if (policy.Retention <= TimeSpan.Zero)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.Retention)} must be positive; it is {policy.Retention}.");
        }
        else if (policy.Retention < policy.Lease)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.Retention)} ({policy.Retention}) must not be shorter than {nameof(IdempotencyPolicy.Lease)} ({policy.Lease}).");
        }

        if (policy.MaxSnapshotBytes < 0)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.MaxSnapshotBytes)} must not be negative; it is {policy.MaxSnapshotBytes}.");
        }

        if (policy.MaxCanonicalJsonBytes is < 1 or > MaxCanonicalJsonBytesLimit)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.MaxCanonicalJsonBytes)} must be between 1 and {MaxCanonicalJsonBytesLimit} (16 MiB); it is {policy.MaxCanonicalJsonBytes}.");
        }

        if (policy.ConcurrentWaitTimeout <= TimeSpan.Zero)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.ConcurrentWaitTimeout)} must be positive; it is {policy.ConcurrentWaitTimeout}.");
        }

        if (!Enum.IsDefined(policy.SequenceRequirement))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.SequenceRequirement)} has an unknown value {policy.SequenceRequirement}.");
        }

        if (policy.SequenceWindow is < 1 or > 1024)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.SequenceWindow)} must be between 1 and 1024; it is {policy.SequenceWindow}.");
        }

        if (policy.ReorderWait < TimeSpan.Zero || policy.ReorderWait > TimeSpan.FromMinutes(1))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.ReorderWait)} must be between 0 and 1 minute; it is {policy.ReorderWait}.");
        }

        if (policy.StreamRetention < policy.Lease)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.StreamRetention)} ({policy.StreamRetention}) must not be shorter than {nameof(IdempotencyPolicy.Lease)} ({policy.Lease}).");
        }

        if ((policy.FingerprintComponents & ~FingerprintComponents.All) != 0)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.FingerprintComponents)} has unknown flags {policy.FingerprintComponents}.");
        }
    }

    private static void ValidateHeaderName(string? value, string optionName, Action<string> fail)
    {
        if (HeaderNameValidation.Problem(value, optionName) is { } problem)
        {
            fail(problem);
        }
    }
}
