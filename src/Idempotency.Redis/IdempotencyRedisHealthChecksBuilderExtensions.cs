using Idempotency.Redis.Internal;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a health check for the Redis idempotency store.</summary>
public static class IdempotencyRedisHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check that PINGs every Redis primary through the idempotency store's own connection, so it reports
    /// exactly what the store can reach. Requires <c>AddIdempotency().AddRedisStore(...)</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The health check's name.</param>
    /// <param name="failureStatus">The status reported when Redis does not answer; <see langword="null"/> means <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter health checks by.</param>
    /// <param name="timeout">How long the check may take; <see langword="null"/> means no limit of its own beyond the connection's timeouts.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddIdempotencyRedis(
        this IHealthChecksBuilder builder,
        string name = "idempotency-redis",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return builder.Add(new HealthCheckRegistration(
            name,
            // Resolved leniently: an exception thrown here would fail the whole health report, not just this entry.
            static services => new RedisIdempotencyHealthCheck(services.GetService<RedisConnectionProvider>()),
            failureStatus,
            tags,
            timeout));
    }
}
