using Idempotency.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.Hosting;

/// <summary>
/// Fails start-up when a policy needs sequence numbers and the registered store does not keep sequence streams
/// (<see cref="IIdempotencySequenceStore"/>), or is transactional and the store cannot join the handler's transaction
/// (<see cref="IIdempotencyTransactionalStore"/>), naming the policy and the store rather than failing the first request.
/// </summary>
internal sealed class StoreRequirementsValidator(IOptions<IdempotencyOptions> options, IServiceProvider services) : IValidateOptions<StoreRequirements>
{
    public ValidateOptionsResult Validate(string? name, StoreRequirements requirements)
    {
        IdempotencyOptions settings;
        try
        {
            settings = options.Value;
        }
        catch (OptionsValidationException)
        {
            // Invalid options fail start-up with their own messages; saying so twice would add nothing.
            return ValidateOptionsResult.Skip;
        }

        List<string>? failures = null;
        Check(settings.DefaultPolicy, nameof(IdempotencyOptions.DefaultPolicy), ref failures);
        foreach (var (policyName, policy) in settings.Policies)
        {
            Check(policy, $"Policy '{policyName}'", ref failures);
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private void Check(IdempotencyPolicy policy, string owner, ref List<string>? failures)
    {
        if (policy.Transactional && services.GetRequiredService<IIdempotencyStore>() is not IIdempotencyTransactionalStore)
        {
            var registered = services.GetRequiredService<IIdempotencyStore>().GetType().Name;
            (failures ??= []).Add(
                $"{owner}: {nameof(IdempotencyPolicy.Transactional)} is true, but the registered store {registered} cannot write a record in the " +
                $"handler's database transaction (it does not implement {nameof(IIdempotencyTransactionalStore)}). Register a store that can " +
                "(AddEntityFrameworkCoreStore<TContext>() from Idempotency.EntityFrameworkCore), or set Transactional to false for this policy.");
        }

        if (policy.SequenceRequirement == SequenceRequirement.Off || services.GetService<IIdempotencySequenceStore>() is not null)
        {
            return;
        }

        var store = services.GetRequiredService<IIdempotencyStore>().GetType().Name;
        (failures ??= []).Add(
            $"{owner}: {nameof(IdempotencyPolicy.SequenceRequirement)} is {policy.SequenceRequirement}, but the registered store {store} " +
            $"does not keep sequence streams (it does not implement {nameof(IIdempotencySequenceStore)}). Register a store that does " +
            "(the in-memory store or AddRedisStore()), implement it in the store, or set SequenceRequirement to Off for this policy.");
    }
}
