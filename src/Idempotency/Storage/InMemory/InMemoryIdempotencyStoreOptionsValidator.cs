using Microsoft.Extensions.Options;

namespace Idempotency.Storage.InMemory;

internal sealed class InMemoryIdempotencyStoreOptionsValidator : IValidateOptions<InMemoryIdempotencyStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, InMemoryIdempotencyStoreOptions options)
    {
        List<string>? failures = null;
        if (options.SizeLimitBytes < InMemoryIdempotencyStoreOptions.MinimumBytes)
        {
            (failures ??= []).Add($"{nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes)} must be at least {InMemoryIdempotencyStoreOptions.MinimumBytes}; it is {options.SizeLimitBytes}.");
        }

        if (options.MaxBytesPerScope is { } perScope && (perScope < InMemoryIdempotencyStoreOptions.MinimumBytes || perScope > options.SizeLimitBytes))
        {
            (failures ??= []).Add(
                $"{nameof(InMemoryIdempotencyStoreOptions.MaxBytesPerScope)} must be at least {InMemoryIdempotencyStoreOptions.MinimumBytes} " +
                $"and at most {nameof(InMemoryIdempotencyStoreOptions.SizeLimitBytes)} ({options.SizeLimitBytes}); it is {perScope}.");
        }

        if (options.ExpirationScanInterval <= TimeSpan.Zero)
        {
            (failures ??= []).Add($"{nameof(InMemoryIdempotencyStoreOptions.ExpirationScanInterval)} must be positive; it is {options.ExpirationScanInterval}.");
        }

        if (!Enum.IsDefined(options.EnvironmentCheck))
        {
            (failures ??= []).Add($"{nameof(InMemoryIdempotencyStoreOptions.EnvironmentCheck)} must be one of Warn, Refuse or Off; it is {(int)options.EnvironmentCheck}.");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
