using Microsoft.Extensions.Options;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>Validates <see cref="EntityFrameworkCoreIdempotencyStoreOptions"/> at start-up, with messages that name the option.</summary>
internal sealed class EntityFrameworkCoreIdempotencyStoreOptionsValidator : IValidateOptions<EntityFrameworkCoreIdempotencyStoreOptions>
{
    internal const int MaxPurgeBatchSize = 100_000;

    public ValidateOptionsResult Validate(string? name, EntityFrameworkCoreIdempotencyStoreOptions options)
    {
        List<string>? failures = null;
        if (options.PurgeInterval <= TimeSpan.Zero)
        {
            (failures ??= []).Add($"{nameof(EntityFrameworkCoreIdempotencyStoreOptions)}.{nameof(EntityFrameworkCoreIdempotencyStoreOptions.PurgeInterval)} is {options.PurgeInterval}; it must be positive.");
        }

        if (options.PurgeBatchSize is < 1 or > MaxPurgeBatchSize)
        {
            (failures ??= []).Add($"{nameof(EntityFrameworkCoreIdempotencyStoreOptions)}.{nameof(EntityFrameworkCoreIdempotencyStoreOptions.PurgeBatchSize)} is {options.PurgeBatchSize}; it must be between 1 and {MaxPurgeBatchSize}.");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
