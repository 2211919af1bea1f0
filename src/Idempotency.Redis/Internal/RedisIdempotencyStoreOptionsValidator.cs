using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Internal;

/// <summary>Validates <see cref="RedisIdempotencyStoreOptions"/> at start-up, with messages that name the option.</summary>
internal sealed class RedisIdempotencyStoreOptionsValidator(IServiceProvider services) : IValidateOptions<RedisIdempotencyStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisIdempotencyStoreOptions options)
    {
        List<string>? failures = null;

        void Fail(string message) => (failures ??= []).Add(message);

        var hasConfiguration = !string.IsNullOrWhiteSpace(options.Configuration);
        var hasFactory = options.ConnectionMultiplexerFactory is not null;
        if (!hasConfiguration && !hasFactory)
        {
            Fail($"{nameof(RedisIdempotencyStoreOptions)}: set {nameof(RedisIdempotencyStoreOptions.Configuration)} (a StackExchange.Redis configuration string such as \"localhost:6379\") or {nameof(RedisIdempotencyStoreOptions.ConnectionMultiplexerFactory)}.");
        }
        else if (hasConfiguration && hasFactory)
        {
            Fail($"{nameof(RedisIdempotencyStoreOptions)}: set either {nameof(RedisIdempotencyStoreOptions.Configuration)} or {nameof(RedisIdempotencyStoreOptions.ConnectionMultiplexerFactory)}, not both (AddRedisStore() without options sets the factory).");
        }
        else if (hasConfiguration)
        {
            try
            {
                ConfigurationOptions.Parse(options.Configuration!);
            }
            catch (ArgumentException ex)
            {
                // The message of a parse error names the offending setting but never echoes the password.
                Fail($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.Configuration)} is not a valid StackExchange.Redis configuration string: {ex.Message}");
            }
        }

        if (services.GetService<RedisServiceConnectionMarker>() is { } marker && !marker.IsRegistered(services))
        {
            Fail($"AddRedisStore() without options uses the {marker.Describe()} registered in the service collection, and none is registered. Register one, or call AddRedisStore(options => options.{nameof(RedisIdempotencyStoreOptions.Configuration)} = \"...\").");
        }

        // A null prefix was replaced by the default before validation (RedisIdempotencyStoreOptionsSetup).
        if (options.KeyPrefix is not null && options.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            Fail($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.KeyPrefix)} '{options.KeyPrefix}' must not contain '{{' or '}}': the record or stream key is the Redis Cluster hash tag, and a brace in the prefix would put every record and stream in one slot.");
        }

        if (!Enum.IsDefined(options.EvictionPolicyCheck))
        {
            Fail($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.EvictionPolicyCheck)} is {(int)options.EvictionPolicyCheck}, not one of {string.Join(", ", Enum.GetNames<RedisEvictionPolicyCheck>())}.");
        }

        if (options.ReplicasToAcknowledge < 0)
        {
            Fail($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.ReplicasToAcknowledge)} is {options.ReplicasToAcknowledge}; it must be 0 (do not wait for replicas) or more.");
        }

        if (options.ReplicaAcknowledgeTimeout <= TimeSpan.Zero || options.ReplicaAcknowledgeTimeout > RedisIdempotencyStoreOptions.MaxReplicaAcknowledgeTimeout)
        {
            Fail($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.ReplicaAcknowledgeTimeout)} is {options.ReplicaAcknowledgeTimeout}; it must be positive and at most {RedisIdempotencyStoreOptions.MaxReplicaAcknowledgeTimeout} (WAIT holds the connection's other commands while it waits).");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
