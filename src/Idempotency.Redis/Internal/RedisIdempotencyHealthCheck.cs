using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>
/// PINGs every primary through the store's own connection. A cluster is healthy only when all primaries answer: any one
/// of them owns some of the records.
/// </summary>
/// <param name="connections">The store's connection; <see langword="null"/> when the Redis store is not registered.</param>
internal sealed class RedisIdempotencyHealthCheck(RedisConnectionProvider? connections) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (connections is null)
        {
            return new HealthCheckResult(
                context.Registration.FailureStatus,
                "AddIdempotencyRedis() checks the Redis idempotency store, which is not registered: call services.AddIdempotency().AddRedisStore(...).");
        }

        try
        {
            var connection = await connections.GetConnectionAsync(cancellationToken).ConfigureAwait(false);
            var servers = connection.GetServers();
            var pings = new List<Task<TimeSpan>>(servers.Length);
            foreach (var server in servers)
            {
                if (!server.IsReplica)
                {
                    pings.Add(server.PingAsync(CommandFlags.DemandMaster));
                }
            }

            if (pings.Count == 0)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "No Redis primary is known to the idempotency store's connection.");
            }

            await Task.WhenAll(pings).WaitAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"{pings.Count} Redis primaries answered PING.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A store that refuses to serve (an evicting maxmemory-policy under Refuse) can reach Redis: say why instead.
            var description = RedisFailures.IsUnavailable(ex) || ex is RedisException ? "The idempotency store cannot reach Redis." : ex.Message;
            return new HealthCheckResult(context.Registration.FailureStatus, description, ex);
        }
    }
}
