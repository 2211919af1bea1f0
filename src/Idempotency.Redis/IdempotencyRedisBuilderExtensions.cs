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
        return AddServiceConnection(builder, serviceKey: null);
    }

    /// <summary>
    /// Stores idempotency records in Redis through the <see cref="IConnectionMultiplexer"/> registered in the service
    /// collection under <paramref name="serviceKey"/>, such as the one .NET Aspire's <c>AddKeyedRedisClient("cache")</c>
    /// registers (the store does not dispose it). Start-up fails when none is registered under that key.
    /// </summary>
    /// <param name="builder">The idempotency builder returned by <c>AddIdempotency()</c>.</param>
    /// <param name="serviceKey">The key the connection is registered under.</param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder AddRedisStore(this IIdempotencyBuilder builder, object serviceKey)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(serviceKey);
        return AddServiceConnection(builder, serviceKey);
    }

    /// <summary>
    /// Stores idempotency records in Redis through a connection that <paramref name="connectionFactory"/> makes from the
    /// application's services (a configuration section, a secret store, a connection another library owns). The factory
    /// is called once, when the store first connects, and again only after it failed; the store does not dispose what it
    /// returns.
    /// </summary>
    /// <param name="builder">The idempotency builder returned by <c>AddIdempotency()</c>.</param>
    /// <param name="connectionFactory">Makes or finds the connection.</param>
    /// <param name="configure">Configures the store's other options (not <see cref="RedisIdempotencyStoreOptions.Configuration"/>).</param>
    /// <returns>The builder.</returns>
    public static IIdempotencyBuilder AddRedisStore(
        this IIdempotencyBuilder builder, Func<IServiceProvider, Task<IConnectionMultiplexer>> connectionFactory, Action<RedisIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connectionFactory);
        var options = builder.Services.AddOptions<RedisIdempotencyStoreOptions>()
            .Configure<IServiceProvider>((options, services) => options.ConnectionMultiplexerFactory = () => connectionFactory(services));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        AddCore(builder);
        return builder;
    }

    private static IIdempotencyBuilder AddServiceConnection(IIdempotencyBuilder builder, object? serviceKey)
    {
        // The last call names the connection; the factory reads it when the store first connects.
        builder.Services.RemoveAll<RedisServiceConnectionMarker>();
        builder.Services.AddSingleton(new RedisServiceConnectionMarker(serviceKey));
        builder.Services.AddOptions<RedisIdempotencyStoreOptions>()
            .Configure<IServiceProvider>(static (options, services) =>
                options.ConnectionMultiplexerFactory ??= () => Task.FromResult(services.GetRequiredService<RedisServiceConnectionMarker>().Resolve(services)));
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
