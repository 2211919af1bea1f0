using Idempotency;
using Idempotency.Redis;
using Idempotency.Redis.Internal;
using Idempotency.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis idempotency store.</summary>
public static class IdempotencyRedisBuilderExtensions
{
    /// <summary>
    /// Stores idempotency records in Redis instead of in memory, so that every instance of the application shares them.
    /// The options are validated when the application starts.
    /// </summary>
    /// <param name="builder">The idempotency builder returned by <c>AddIdempotency()</c>.</param>
    /// <param name="configure">Configures the store: at least <see cref="RedisIdempotencyStoreOptions.Configuration"/> or
    /// <see cref="RedisIdempotencyStoreOptions.ConnectionMultiplexerFactory"/>.</param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder AddRedisStore(this IIdempotencyBuilder builder, Action<RedisIdempotencyStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<RedisIdempotencyStoreOptions>().Configure(configure);
        AddCore(builder);
        return builder;
    }

    /// <summary>
    /// Stores idempotency records in Redis through the <see cref="IConnectionMultiplexer"/> registered in the service
    /// collection (which the store does not dispose). Start-up fails when none is registered.
    /// </summary>
    /// <param name="builder">The idempotency builder returned by <c>AddIdempotency()</c>.</param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder AddRedisStore(this IIdempotencyBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<RedisServiceConnectionMarker>();
        builder.Services.AddOptions<RedisIdempotencyStoreOptions>()
            .Configure<IServiceProvider>(static (options, services) =>
                options.ConnectionMultiplexerFactory ??= () => Task.FromResult(services.GetRequiredService<IConnectionMultiplexer>()));
        AddCore(builder);
        return builder;
    }

    private static void AddCore(IIdempotencyBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RedisIdempotencyStoreOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<RedisIdempotencyStoreOptions>, RedisIdempotencyStoreOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisIdempotencyStoreOptions>, RedisIdempotencyStoreOptionsValidator>());
        services.TryAddSingleton<RedisConnectionProvider>();

        // The same path as any store: it takes the in-memory store's place whatever the order of other registrations,
        // and calling AddRedisStore twice still leaves exactly one store.
        builder.AddStore<RedisIdempotencyStore>();
    }
}
