using Microsoft.Extensions.Options;

namespace Idempotency.Storage.InMemory;

internal sealed class InMemoryIdempotencyStoreOptionsValidator : IValidateOptions<InMemoryIdempotencyStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, InMemoryIdempotencyStoreOptions options)
    {
        List<string>? failures = null;
        if (options.SizeLimitBytes < 1024)
        {
            (failures ??= []).Add($"{nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes)} must be at least 1024; it is {options.SizeLimitBytes}.");
        }

        if (options.ExpirationScanInterval <= TimeSpan.Zero)
        {
            (failures ??= []).Add($"{nameof(InMemoryIdempotencyStoreOptions.ExpirationScanInterval)} must be positive; it is {options.ExpirationScanInterval}.");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
