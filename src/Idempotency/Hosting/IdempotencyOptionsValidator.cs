using Idempotency.Fingerprinting;
using Microsoft.Extensions.Options;

namespace Idempotency.Hosting;

/// <summary>Validates <see cref="IdempotencyOptions"/> at start-up, with messages that name the option.</summary>
internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    // Upper bounds keep every duration inside what timers and clock arithmetic accept (a timer overflows past ~49.7
    // days, and a lease is renewed every third of itself) with room to spare, and every stored size far below what a
    // store accepts in one value.
    private static readonly TimeSpan MaxLease = TimeSpan.FromDays(1);
    private static readonly TimeSpan MaxRetention = TimeSpan.FromDays(365);
    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromDays(1);
    private const int MaxStoredBytes = 64 * 1024 * 1024;
    private const long MinLocalReplayBytes = 1024;
    private const int MaxLocalReplayEntries = 10_000_000;
    private static readonly TimeSpan MaxLocalReplayExpiration = TimeSpan.FromDays(1);

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

        ValidateDuration(options.InFlightRetryAfter, nameof(IdempotencyOptions.InFlightRetryAfter), MaxRetryAfter, "1 day", Fail);
        ValidateDuration(options.StoreUnavailableRetryAfter, nameof(IdempotencyOptions.StoreUnavailableRetryAfter), MaxRetryAfter, "1 day", Fail);
        ValidateDuration(options.StoreTimeout, nameof(IdempotencyOptions.StoreTimeout), MaxWait, "10 minutes", Fail);

        if (options.ScopeResolver is null)
        {
            Fail($"{nameof(IdempotencyOptions.ScopeResolver)} must not be null.");
        }

        if (options.DataProtectionMissing)
        {
            Fail("ProtectStoredResponses() needs ASP.NET Core Data Protection: register it with services.AddDataProtection(), with a key ring every instance shares (PersistKeysTo...) and one application name (SetApplicationName), or set IdempotencyOptions.StoredResponseProtector.");
        }
        else if (options.ProtectStoredResponses && options.StoredResponseProtector is null)
        {
            Fail($"{nameof(IdempotencyOptions.ProtectStoredResponses)} is set but {nameof(IdempotencyOptions.StoredResponseProtector)} is null: call ProtectStoredResponses() on the idempotency builder with Data Protection registered, or set a protector.");
        }

        if (options.RequestBodyBufferThreshold is < 1 or > MaxStoredBytes)
        {
            Fail($"{nameof(IdempotencyOptions.RequestBodyBufferThreshold)} must be between 1 and {MaxStoredBytes} (64 MiB); it is {options.RequestBodyBufferThreshold}.");
        }

        if (options.StoredResponseCompressionThreshold is < 0 or > MaxStoredBytes)
        {
            Fail($"{nameof(IdempotencyOptions.StoredResponseCompressionThreshold)} must be between 0 and {MaxStoredBytes} (64 MiB); it is {options.StoredResponseCompressionThreshold}.");
        }

        if (!Enum.IsDefined(options.StoredResponseCompressionLevel))
        {
            Fail($"{nameof(IdempotencyOptions.StoredResponseCompressionLevel)} has an unknown value {options.StoredResponseCompressionLevel}.");
        }

        ValidateLocalReplayCache(options.LocalReplayCache, Fail);
        ValidatePolicy(options.DefaultPolicy, $"{nameof(IdempotencyOptions.DefaultPolicy)}", Fail);
        foreach (var (policyName, policy) in options.Policies)
        {
            ValidatePolicy(policy, $"Policy '{policyName}'", Fail);
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateLocalReplayCache(LocalReplayCacheOptions cache, Action<string> fail)
    {
        const string Owner = nameof(IdempotencyOptions.LocalReplayCache);
        if (cache.SizeLimit < MinLocalReplayBytes)
        {
            fail($"{Owner}.{nameof(LocalReplayCacheOptions.SizeLimit)} must be at least {MinLocalReplayBytes} bytes; it is {cache.SizeLimit}.");
        }

        if (cache.MaximumEntries is < 1 or > MaxLocalReplayEntries)
        {
            fail($"{Owner}.{nameof(LocalReplayCacheOptions.MaximumEntries)} must be between 1 and {MaxLocalReplayEntries}; it is {cache.MaximumEntries}.");
        }

        // Otherwise an entry could be too large for an empty cache, and making room for it could never end.
        if (cache.MaximumEntryBytes < 1 || cache.MaximumEntryBytes > cache.SizeLimit)
        {
            fail($"{Owner}.{nameof(LocalReplayCacheOptions.MaximumEntryBytes)} must be at least 1 and at most {Owner}.{nameof(LocalReplayCacheOptions.SizeLimit)} ({cache.SizeLimit}); it is {cache.MaximumEntryBytes}.");
        }

        ValidateDuration(cache.Expiration, $"{Owner}.{nameof(LocalReplayCacheOptions.Expiration)}", MaxLocalReplayExpiration, "1 day", fail);
    }

    private static void ValidatePolicy(IdempotencyPolicy policy, string owner, Action<string> fail)
    {
        // Numbered requests never use the cache (a stream's answers change as numbers are applied), and a policy that
        // requires numbers has no other requests: the setting would promise what it cannot do.
        if (policy.UseLocalReplayCache && policy.SequenceRequirement == SequenceRequirement.Required)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.UseLocalReplayCache)} cannot be used with {nameof(IdempotencyPolicy.SequenceRequirement)} = {nameof(SequenceRequirement.Required)}: numbered requests always ask the store, so nothing of this policy would be cached. Leave {nameof(IdempotencyPolicy.UseLocalReplayCache)} off for it.");
        }

        if (!Enum.IsDefined(policy.KeyRequirement))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.KeyRequirement)} has an unknown value {policy.KeyRequirement}.");
        }

        if (!Enum.IsDefined(policy.ConcurrentRequests))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.ConcurrentRequests)} has an unknown value {policy.ConcurrentRequests}.");
        }

        if (policy.Lease < TimeSpan.FromMilliseconds(100) || policy.Lease > MaxLease)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.Lease)} must be between 100 ms and 1 day; it is {policy.Lease}.");
        }

        if (policy.Retention <= TimeSpan.Zero || policy.Retention > MaxRetention)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.Retention)} must be positive and at most 365 days; it is {policy.Retention}.");
        }
        else if (policy.Retention < policy.Lease)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.Retention)} ({policy.Retention}) must not be shorter than {nameof(IdempotencyPolicy.Lease)} ({policy.Lease}).");
        }

        if (policy.MaxSnapshotBytes is < 0 or > MaxStoredBytes)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.MaxSnapshotBytes)} must be between 0 and {MaxStoredBytes} (64 MiB); it is {policy.MaxSnapshotBytes}.");
        }

        if (policy.MaxCanonicalJsonBytes is < 1 or > MaxCanonicalJsonBytesLimit)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.MaxCanonicalJsonBytes)} must be between 1 and {MaxCanonicalJsonBytesLimit} (16 MiB); it is {policy.MaxCanonicalJsonBytes}.");
        }

        ValidateDuration(policy.ConcurrentWaitTimeout, $"{owner}: {nameof(IdempotencyPolicy.ConcurrentWaitTimeout)}", MaxWait, "10 minutes", fail);

        if (!Enum.IsDefined(policy.SequenceRequirement))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.SequenceRequirement)} has an unknown value {policy.SequenceRequirement}.");
        }

        if (policy.SequenceWindow is < 1 or > 1024)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.SequenceWindow)} must be between 1 and 1024; it is {policy.SequenceWindow}.");
        }

        // Every stream keeps up to SequenceWindow responses: one stream must not be able to hold a gigabyte.
        if (policy.SequenceRequirement != SequenceRequirement.Off && (long)policy.SequenceWindow * policy.MaxSnapshotBytes > MaxStoredBytes)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.SequenceWindow)} × {nameof(IdempotencyPolicy.MaxSnapshotBytes)} ({policy.SequenceWindow} × {policy.MaxSnapshotBytes}) must be at most {MaxStoredBytes} (64 MiB), the most one stream may keep.");
        }

        // The store is the handler's own database: when it cannot be reached the handler cannot write either, and a begin
        // that timed out waiting on a concurrent duplicate's transaction would run the operation a second time beside it,
        // its writes committing outside any transaction.
        if (policy.Transactional && policy.FailOpen)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.Transactional)} and {nameof(IdempotencyPolicy.FailOpen)} cannot both be true. A transactional policy's store is the handler's own database, so failing open would run the handler without its transaction (and beside a duplicate still holding the record) exactly when that database is failing. Set {nameof(IdempotencyPolicy.FailOpen)} to false for this policy.");
        }

        if (policy.ReorderWait < TimeSpan.Zero || policy.ReorderWait > TimeSpan.FromMinutes(1))
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.ReorderWait)} must be between 0 and 1 minute; it is {policy.ReorderWait}.");
        }

        if (policy.StreamRetention > MaxRetention)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.StreamRetention)} must be at most 365 days; it is {policy.StreamRetention}.");
        }
        else if (policy.StreamRetention < policy.Lease)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.StreamRetention)} ({policy.StreamRetention}) must not be shorter than {nameof(IdempotencyPolicy.Lease)} ({policy.Lease}).");
        }

        if ((policy.FingerprintComponents & ~FingerprintComponents.All) != 0)
        {
            fail($"{owner}: {nameof(IdempotencyPolicy.FingerprintComponents)} has unknown flags {policy.FingerprintComponents}.");
        }

        if (policy.KeyHeaderName is not null)
        {
            ValidateHeaderName(policy.KeyHeaderName, $"{owner}: {nameof(IdempotencyPolicy.KeyHeaderName)}", fail);
        }

        ValidateFingerprintExclusions(policy, owner, fail);
    }

    private static void ValidateFingerprintExclusions(IdempotencyPolicy policy, string owner, Action<string> fail)
    {
        var exclusions = policy.FingerprintExcludedJsonMembers;
        if (exclusions.Count == 0)
        {
            return;
        }

        const string Name = nameof(IdempotencyPolicy.FingerprintExcludedJsonMembers);

        // Without the canonical form a body is hashed as bytes and no member can be left out: an exclusion that
        // silently did nothing would leave every retry that changed it a 422.
        if (!policy.CanonicalJsonFingerprint)
        {
            fail($"{owner}: {Name} requires {nameof(IdempotencyPolicy.CanonicalJsonFingerprint)} = true; members can be left out only of a body fingerprinted in canonical form.");
        }

        if ((policy.FingerprintComponents & FingerprintComponents.Body) == 0)
        {
            fail($"{owner}: {Name} is set but {nameof(IdempotencyPolicy.FingerprintComponents)} leaves the body out of the fingerprint.");
        }

        foreach (var pointer in exclusions)
        {
            if (!JsonPointer.TryParse(pointer, out _))
            {
                fail($"{owner}: {Name} holds '{pointer}', which is not a JSON Pointer to a member: it must start with '/' (such as '/sentAt' or '/meta/timestamp'), and '~' must be followed by 0 or 1.");
            }
        }
    }

    private static void ValidateDuration(TimeSpan value, string name, TimeSpan maximum, string maximumText, Action<string> fail)
    {
        if (value <= TimeSpan.Zero || value > maximum)
        {
            fail($"{name} must be positive and at most {maximumText}; it is {value}.");
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
