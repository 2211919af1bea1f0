using System.Diagnostics;
using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace Idempotency.Redis.Tests.Hosting;

/// <summary>
/// The store reads <c>maxmemory-policy</c> before its first command: an evicting policy can drop a record within its
/// retention, and the retry then runs again. Each test starts a redis-server of its own with the policy it needs.
/// </summary>
public sealed class RedisEvictionPolicyTests
{
    private static readonly byte[] Fingerprint = [3];
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("allkeys-lru")]
    [InlineData("volatile-lru")]
    public async Task An_evicting_policy_is_logged_once_as_a_warning_that_names_it_and_the_fix(string policy)
    {
        // Through the registration an application uses, so the store's logger is the application's.
        await using var redis = await RedisServerProcess.StartNewAsync("--maxmemory-policy", policy);
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddFakeLogging());
        services.AddIdempotency().AddRedisStore(options =>
        {
            options.Configuration = $"127.0.0.1:{redis.Port}";
            options.KeyPrefix = TestStores.UniquePrefix("eviction");
        });
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IIdempotencyStore>();

        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync("first", Fingerprint, Lease, CancellationToken.None)).Status);
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync("second", Fingerprint, Lease, CancellationToken.None)).Status);

        var warning = Assert.Single(provider.GetFakeLogCollector().GetSnapshot(), record => record.Id.Id == RedisStoreLog.EvictionPolicyEvictsId);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("EvictionPolicyEvicts", warning.Id.Name);
        Assert.Contains($"'{policy}'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("noeviction", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_Refuse_an_evicting_policy_refuses_every_operation_with_a_message_naming_the_policy_and_the_fix()
    {
        await using var server = await PolicyServer.StartAsync(RedisEvictionPolicyCheck.Refuse, "--maxmemory-policy", "allkeys-lru");

        var begin = await Record.ExceptionAsync(() => server.Store.TryBeginAsync("refused", Fingerprint, Lease, CancellationToken.None).AsTask());
        var stream = await Record.ExceptionAsync(() => server.Store.TryBeginSequenceAsync("refused", 0, 1, Fingerprint, Lease, CancellationToken.None).AsTask());

        // A configuration error, not unavailability: the middleware answers 500 and never fails open on it.
        var refusal = Assert.IsType<InvalidOperationException>(begin);
        Assert.IsType<InvalidOperationException>(stream);
        Assert.Contains("'allkeys-lru'", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("noeviction", refusal.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(RedisIdempotencyStoreOptions.EvictionPolicyCheck), refusal.Message, StringComparison.Ordinal);
        Assert.Equal(0L, await Resp.ExecuteAsync(server.Redis.Port, "DBSIZE"));

        var error = Assert.Single(server.Logger.Collector.GetSnapshot());
        Assert.Equal(RedisStoreLog.EvictionPolicyRefusedId, error.Id.Id);
        Assert.Equal(LogLevel.Error, error.Level);

        // The health check says why, rather than that Redis cannot be reached.
        var registration = new HealthCheckRegistration("idempotency-redis", _ => throw new InvalidOperationException(), HealthStatus.Unhealthy, tags: null);
        var health = await new RedisIdempotencyHealthCheck(server.Connections).CheckHealthAsync(new HealthCheckContext { Registration = registration });
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
        Assert.Equal(refusal.Message, health.Description);
    }

    [Theory]
    [InlineData(RedisEvictionPolicyCheck.Warn, "noeviction")]
    [InlineData(RedisEvictionPolicyCheck.Refuse, "noeviction")]
    // Off reads nothing: the command statistics cannot prove it, as the client library sends CONFIG GET of its own
    // while it connects, but the empty log does.
    [InlineData(RedisEvictionPolicyCheck.Off, "allkeys-lru")]
    public async Task Serves_without_a_word_when_Redis_never_evicts_or_the_check_is_off(RedisEvictionPolicyCheck check, string policy)
    {
        await using var server = await PolicyServer.StartAsync(check, "--maxmemory-policy", policy);

        Assert.Equal(IdempotencyBeginStatus.Acquired, (await server.Store.TryBeginAsync("served", Fingerprint, Lease, CancellationToken.None)).Status);
        Assert.Empty(server.Logger.Collector.GetSnapshot());
    }

    [Fact]
    public async Task Where_CONFIG_is_disabled_the_store_logs_that_it_could_not_check_and_serves()
    {
        // As on managed Redis services, which rename or disable CONFIG.
        await using var server = await PolicyServer.StartAsync(RedisEvictionPolicyCheck.Refuse, "--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG", "");

        Assert.Equal(IdempotencyBeginStatus.Acquired, (await server.Store.TryBeginAsync("served", Fingerprint, Lease, CancellationToken.None)).Status);

        var warning = Assert.Single(server.Logger.Collector.GetSnapshot());
        Assert.Equal(RedisStoreLog.EvictionPolicyUncheckedId, warning.Id.Id);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(nameof(RedisEvictionPolicyCheck.Off), warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_check_Redis_could_not_answer_runs_again_once_Redis_is_back_before_anything_is_written()
    {
        await using var server = await PolicyServer.StartAsync(RedisEvictionPolicyCheck.Refuse, "--maxmemory-policy", "allkeys-lru");
        await server.Redis.StopAsync();

        // Down at the first call: unavailable (503), and the store must not serve unchecked afterwards.
        await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(() => server.Store.TryBeginAsync("early", Fingerprint, Lease, CancellationToken.None).AsTask());
        await server.Redis.StartAsync();

        var recovery = Stopwatch.StartNew();
        Exception? outcome;
        do
        {
            await Task.Delay(50);
            outcome = await Record.ExceptionAsync(() => server.Store.TryBeginAsync("late", Fingerprint, Lease, CancellationToken.None).AsTask());
        }
        while (outcome is IdempotencyStoreUnavailableException && recovery.Elapsed < RecoveryBound);

        Assert.IsType<InvalidOperationException>(outcome);
        Assert.Equal(0L, await Resp.ExecuteAsync(server.Redis.Port, "DBSIZE"));
    }

    /// <summary>A redis-server of the test's own, and a store on it with its own connection and a fake logger.</summary>
    private sealed class PolicyServer : IAsyncDisposable
    {
        private PolicyServer(RedisServerProcess redis, RedisEvictionPolicyCheck check)
        {
            Redis = redis;
            var options = Options.Create(new RedisIdempotencyStoreOptions
            {
                Configuration = $"127.0.0.1:{redis.Port}",
                KeyPrefix = TestStores.UniquePrefix("eviction"),
                EvictionPolicyCheck = check,
            });
            Connections = new RedisConnectionProvider(options, Logger);
            Store = new RedisIdempotencyStore(Connections, options);
        }

        public RedisServerProcess Redis { get; }

        public FakeLogger<RedisConnectionProvider> Logger { get; } = new();

        public RedisConnectionProvider Connections { get; }

        public RedisIdempotencyStore Store { get; }

        public static async Task<PolicyServer> StartAsync(RedisEvictionPolicyCheck check, params string[] arguments)
            => new(await RedisServerProcess.StartNewAsync(arguments), check);

        public async ValueTask DisposeAsync()
        {
            // The connection first: a multiplexer outliving its server would keep reconnecting.
            await Connections.DisposeAsync();
            await Redis.DisposeAsync();
        }
    }
}
