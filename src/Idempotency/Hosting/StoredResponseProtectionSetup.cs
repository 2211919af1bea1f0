using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.Hosting;

/// <summary>
/// Applies <c>ProtectStoredResponses()</c>: a protector from the application's Data Protection, unless the application
/// set <see cref="IdempotencyOptions.StoredResponseProtector"/> itself. Without Data Protection registered it leaves a
/// mark that <see cref="IdempotencyOptionsValidator"/> turns into a start-up failure naming the fix.
/// </summary>
internal sealed class StoredResponseProtectionSetup(IServiceProvider services) : IPostConfigureOptions<IdempotencyOptions>
{
    public void PostConfigure(string? name, IdempotencyOptions options)
    {
        var request = services.GetService<StoredResponseProtectionRequest>();
        if (request is null)
        {
            return;
        }

        options.ProtectStoredResponses = request.ProtectNewResponses;
        if (options.StoredResponseProtector is not null)
        {
            return;
        }

        var provider = services.GetService<IDataProtectionProvider>();
        if (provider is null)
        {
            options.DataProtectionMissing = true;
            return;
        }

        options.StoredResponseProtector = provider.CreateProtector(request.Purpose);
    }
}
