using System.Diagnostics.Metrics;
using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace Idempotency.Redis.Tests.Hosting;

/// <summary>Start-up validation and defaults of <see cref="RedisIdempotencyStoreOptions.ReplicasToAcknowledge"/> and <see cref="RedisIdempotencyStoreOptions.ReplicaAcknowledgeTimeout"/>.</summary>
public sealed class ReplicaAcknowledgementOptionsTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>
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

    [Fact]
    public async Task The_registered_store_waits_for_replicas_and_reports_a_shortfall_through_the_applications_logging_and_meters()
    {
        // A standalone server has no replica: WAIT 1 answers 0 when its timeout ends.
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddFakeLogging());
        services.AddIdempotency().AddRedisStore(options =>
        {
            options.Configuration = server.ConnectionString;
            options.KeyPrefix = TestStores.UniquePrefix("registered-wait");
            options.ReplicasToAcknowledge = 1;
            options.ReplicaAcknowledgeTimeout = TimeSpan.FromMilliseconds(50);
        });
        await using var provider = services.BuildServiceProvider();
        using var shortfalls = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.redis.replica_ack_shortfall");
        var store = provider.GetRequiredService<IIdempotencyStore>();

        var begun = await store.TryBeginAsync("key", "f"u8.ToArray(), TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(await store.CompleteAsync("key", begun.FencingToken, new StoredResponse(200, [], "ok"u8.ToArray()), TimeSpan.FromMinutes(1), CancellationToken.None));

        // The begin's lease and the completion: each waited, each fell short.
        var measurements = shortfalls.GetMeasurementSnapshot();
        Assert.Equal(2, measurements.Count);
        Assert.All(measurements, measurement => Assert.Equal(1, measurement.Value));
        Assert.Equal(["begin", "complete"], measurements.Select(measurement => (string)measurement.Tags["idempotency.store.operation"]!).Order());
        var warnings = provider.GetFakeLogCollector().GetSnapshot().Where(record => record.Id.Id == RedisStoreLog.ReplicaAcknowledgementShortfallId).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, warning => Assert.Equal(LogLevel.Warning, warning.Level));
        Assert.All(warnings, warning => Assert.Contains("acknowledged by 0 of the 1 replicas", warning.Message, StringComparison.Ordinal));
    }
}
