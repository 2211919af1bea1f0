using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// Says that the store uses an <see cref="IConnectionMultiplexer"/> from the service collection (AddRedisStore() or
/// AddRedisStore(serviceKey)), and which: the unkeyed one, or the one registered under <see cref="ServiceKey"/> (as
/// Aspire's <c>AddKeyedRedisClient</c> registers it). The last call wins.
/// </summary>
internal sealed class RedisServiceConnectionMarker(object? serviceKey)
{
    public object? ServiceKey { get; } = serviceKey;

    public IConnectionMultiplexer Resolve(IServiceProvider services)
        => ServiceKey is null
            ? services.GetRequiredService<IConnectionMultiplexer>()
            : services.GetRequiredKeyedService<IConnectionMultiplexer>(ServiceKey);

    public bool IsRegistered(IServiceProvider services)
        => ServiceKey is null
            ? services.GetService<IServiceProviderIsService>() is not { } isService || isService.IsService(typeof(IConnectionMultiplexer))
            : services.GetService<IServiceProviderIsKeyedService>() is not { } isKeyed || isKeyed.IsKeyedService(typeof(IConnectionMultiplexer), ServiceKey);

    /// <summary>How the registration is named in messages.</summary>
    public string Describe()
        => ServiceKey is null ? nameof(IConnectionMultiplexer) : $"{nameof(IConnectionMultiplexer)} keyed '{ServiceKey}'";
}
