using Idempotency.Redis.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.Redis.Tests.Hosting;

/// <summary>Start-up validation and defaults of <see cref="RedisIdempotencyStoreOptions.ReplicasToAcknowledge"/> and <see cref="RedisIdempotencyStoreOptions.ReplicaAcknowledgeTimeout"/>.</summary>
public sealed class ReplicaAcknowledgementOptionsTests
{
    private static string? ValidationErrors(Action<RedisIdempotencyStoreOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddIdempotency().AddRedisStore(options =>
        {
            options.Configuration = "localhost:1";
            configure(options);
        });
        using var provider = services.BuildServiceProvider();
        try
        {
            // What ValidateOnStart runs when the host starts.
            provider.GetRequiredService<IStartupValidator>().Validate();
            return null;
        }
        catch (OptionsValidationException ex)
        {
            return ex.Message;
        }
    }

    [Fact]
    public void By_default_the_store_does_not_wait_for_replicas_and_would_wait_one_second()
    {
        var options = new RedisIdempotencyStoreOptions();

        Assert.Equal(0, options.ReplicasToAcknowledge);
        Assert.Equal(TimeSpan.FromSeconds(1), options.ReplicaAcknowledgeTimeout);
        Assert.Null(ValidationErrors(_ => { }));
    }

    [Fact]
    public void Start_up_fails_on_a_negative_replica_count_and_names_the_option()
    {
        var errors = ValidationErrors(options => options.ReplicasToAcknowledge = -1);

        Assert.NotNull(errors);
        Assert.Contains($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.ReplicasToAcknowledge)} is -1", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(5001)]
    public void Start_up_fails_on_a_timeout_that_is_not_positive_or_longer_than_five_seconds(int milliseconds)
    {
        var errors = ValidationErrors(options =>
        {
            options.ReplicasToAcknowledge = 1;
            options.ReplicaAcknowledgeTimeout = TimeSpan.FromMilliseconds(milliseconds);
        });

        Assert.NotNull(errors);
        Assert.Contains($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.ReplicaAcknowledgeTimeout)}", errors, StringComparison.Ordinal);
        Assert.Contains("at most 00:00:05", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5000)]
    public void Start_up_accepts_replicas_with_a_timeout_up_to_five_seconds(int replicas, int milliseconds)
    {
        Assert.Null(ValidationErrors(options =>
        {
            options.ReplicasToAcknowledge = replicas;
            options.ReplicaAcknowledgeTimeout = TimeSpan.FromMilliseconds(milliseconds);
        }));
    }

    [Fact]
    public void A_sub_millisecond_timeout_is_sent_as_one_millisecond_never_as_WAIT_forever()
    {
        // WAIT n 0 blocks until n replicas acknowledge, however long that takes.
        var acknowledgement = new RedisReplicaAcknowledgement(1, TimeSpan.FromTicks(1), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, meterFactory: null);

        Assert.Equal(1, acknowledgement.TimeoutMilliseconds);
    }
}
