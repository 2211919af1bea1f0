using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Idempotency.Redis.Internal;

/// <summary>
/// Resolves the default <see cref="RedisIdempotencyStoreOptions.KeyPrefix"/> after the application configured the
/// options, so the options show the prefix the store really uses and the validator checks it.
/// </summary>
internal sealed class RedisIdempotencyStoreOptionsSetup(IServiceProvider services) : IPostConfigureOptions<RedisIdempotencyStoreOptions>
{
    private const string Namespace = "idempotency:";

    public void PostConfigure(string? name, RedisIdempotencyStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // The host's default ApplicationName is the entry assembly's name, so a store built without a host (a plain
        // service collection) in the same application uses the same prefix.
        options.KeyPrefix ??= DefaultKeyPrefix(services.GetService<IHostEnvironment>()?.ApplicationName ?? Assembly.GetEntryAssembly()?.GetName().Name);
    }

    /// <summary>
    /// <c>idempotency:{applicationName}:</c>, with braces replaced (the record key after the prefix is the cluster hash
    /// tag), or <c>idempotency:</c> when there is no name.
    /// </summary>
    internal static string DefaultKeyPrefix(string? applicationName)
        => string.IsNullOrEmpty(applicationName)
            ? Namespace
            : string.Concat(Namespace, applicationName.Replace('{', '_').Replace('}', '_'), ":");
}
