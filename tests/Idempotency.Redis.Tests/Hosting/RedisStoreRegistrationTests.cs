using Idempotency.Redis.Internal;
using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Hosting;

public sealed class RedisStoreRegistrationTests(RedisStoreFixture server) : IClassFixture<RedisStoreFixture>
{
    private static string ValidationErrors(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        configure(services);
        using var provider = services.BuildServiceProvider();

        // What ValidateOnStart runs when the host starts.
        var error = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        return error.ToString();
    }

    [Fact]
    public void AddRedisStore_replaces_the_in_memory_store_once_however_often_it_is_called()
    {
        var services = new ServiceCollection();

        services.AddIdempotency().AddRedisStore(options => options.Configuration = "localhost:1").AddRedisStore(options => options.KeyPrefix = "app:");

        Assert.Single(services, descriptor => descriptor.ServiceType == typeof(IIdempotencyStore));
        Assert.Single(services, descriptor => descriptor.ServiceType == typeof(IIdempotencySequenceStore));
        var registration = Assert.Single(services, descriptor => descriptor.ServiceType == typeof(RedisIdempotencyStore));
        Assert.Equal(ServiceLifetime.Singleton, registration.Lifetime);
        using var provider = services.BuildServiceProvider();
        var store = Assert.IsType<RedisIdempotencyStore>(provider.GetRequiredService<IIdempotencyStore>());
        Assert.Same(store, provider.GetRequiredService<IIdempotencySequenceStore>());
    }

    [Fact]
    public async Task The_registered_store_works_end_to_end()
    {
        var services = new ServiceCollection();
        services.AddIdempotency().AddRedisStore(options =>
        {
            options.Configuration = server.ConnectionString;
            options.KeyPrefix = TestStores.UniquePrefix("registration");
        });
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var store = provider.GetRequiredService<IIdempotencyStore>();
        var begun = await store.TryBeginAsync("registered", new byte[] { 1 }, TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
    }

    [Fact]
    public void Start_up_fails_without_a_connection_setting_and_names_both_options()
    {
        var errors = ValidationErrors(services => services.AddIdempotency().AddRedisStore(_ => { }));

        Assert.Contains(nameof(RedisIdempotencyStoreOptions.Configuration), errors, StringComparison.Ordinal);
        Assert.Contains(nameof(RedisIdempotencyStoreOptions.ConnectionMultiplexerFactory), errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_up_fails_when_both_connection_settings_are_given()
    {
        var errors = ValidationErrors(services => services.AddIdempotency().AddRedisStore(options =>
        {
            options.Configuration = "localhost";
            options.ConnectionMultiplexerFactory = () => throw new InvalidOperationException();
        }));

        Assert.Contains("not both", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_up_fails_on_a_configuration_string_StackExchange_Redis_cannot_parse()
    {
        var errors = ValidationErrors(services => services.AddIdempotency().AddRedisStore(options => options.Configuration = "localhost,connectTimeout=soon"));

        Assert.Contains($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.Configuration)} is not a valid", errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("app{1}:")]
    [InlineData("app}")]
    public void Start_up_fails_on_a_key_prefix_with_braces(string keyPrefix)
    {
        var errors = ValidationErrors(services => services.AddIdempotency().AddRedisStore(options =>
        {
            options.Configuration = "localhost";
            options.KeyPrefix = keyPrefix;
        }));

        Assert.Contains(nameof(RedisIdempotencyStoreOptions.KeyPrefix), errors, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Orders", "idempotency:Orders:")]
    [InlineData("Shop.Api", "idempotency:Shop.Api:")]
    // Braces would make the prefix part of the cluster hash tag; the validator's rule still holds for the default.
    [InlineData("My{App}", "idempotency:My_App_:")]
    public void The_default_key_prefix_names_the_application(string applicationName, string expected)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { ApplicationName = applicationName });
        services.AddIdempotency().AddRedisStore(options => options.Configuration = "localhost");
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();

        Assert.Equal(expected, provider.GetRequiredService<IOptions<RedisIdempotencyStoreOptions>>().Value.KeyPrefix);
    }

    [Fact]
    public void Without_a_host_the_default_key_prefix_names_the_entry_assembly_as_the_host_would()
    {
        var services = new ServiceCollection();
        services.AddIdempotency().AddRedisStore(options => options.Configuration = "localhost");
        using var provider = services.BuildServiceProvider();

        var entryAssembly = System.Reflection.Assembly.GetEntryAssembly()!.GetName().Name;
        Assert.Equal($"idempotency:{entryAssembly}:", provider.GetRequiredService<IOptions<RedisIdempotencyStoreOptions>>().Value.KeyPrefix);
    }

    [Theory]
    [InlineData("shared:")]
    [InlineData("")]
    public void An_explicit_key_prefix_wins_over_the_application_name(string keyPrefix)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { ApplicationName = "Orders" });
        services.AddIdempotency().AddRedisStore(options =>
        {
            options.Configuration = "localhost";
            options.KeyPrefix = keyPrefix;
        });
        using var provider = services.BuildServiceProvider();

        Assert.Equal(keyPrefix, provider.GetRequiredService<IOptions<RedisIdempotencyStoreOptions>>().Value.KeyPrefix);
    }

    [Fact]
    public void Start_up_fails_on_an_eviction_policy_check_that_is_not_defined()
    {
        var errors = ValidationErrors(services => services.AddIdempotency().AddRedisStore(options =>
        {
            options.Configuration = "localhost";
            options.EvictionPolicyCheck = (RedisEvictionPolicyCheck)42;
        }));

        Assert.Contains($"{nameof(RedisIdempotencyStoreOptions)}.{nameof(RedisIdempotencyStoreOptions.EvictionPolicyCheck)} is 42", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_up_fails_when_AddRedisStore_without_options_finds_no_connection_in_the_services()
    {
        var errors = ValidationErrors(services => services.AddIdempotency().AddRedisStore());

        Assert.Contains($"none is registered", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddRedisStore_without_options_uses_the_registered_connection_and_leaves_it_open()
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration(server.ConnectionString));
        try
        {
            var services = new ServiceCollection();
            services.AddSingleton<IConnectionMultiplexer>(connection);
            services.AddIdempotency().AddRedisStore();
            services.Configure<RedisIdempotencyStoreOptions>(options => options.KeyPrefix = TestStores.UniquePrefix("shared-connection"));

            await using (var provider = services.BuildServiceProvider())
            {
                provider.GetRequiredService<IStartupValidator>().Validate();
                var begun = await provider.GetRequiredService<IIdempotencyStore>().TryBeginAsync("shared", new byte[] { 1 }, TimeSpan.FromSeconds(30), CancellationToken.None);
                Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
            }

            // Registered as an instance, the connection belongs to the application: neither the container nor the
            // store may close it.
            Assert.True(connection.IsConnected);
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task AddRedisStore_with_a_service_key_uses_the_keyed_connection_as_Aspire_registers_it()
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration(server.ConnectionString));
        var unusable = await ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration("127.0.0.1:1,abortConnect=false,connectTimeout=100"));
        try
        {
            var services = new ServiceCollection();
            services.AddKeyedSingleton<IConnectionMultiplexer>("cache", connection);
            services.AddSingleton<IConnectionMultiplexer>(unusable);
            services.AddIdempotency().AddRedisStore(serviceKey: "cache");
            services.Configure<RedisIdempotencyStoreOptions>(options => options.KeyPrefix = TestStores.UniquePrefix("keyed-connection"));

            await using (var provider = services.BuildServiceProvider())
            {
                provider.GetRequiredService<IStartupValidator>().Validate();
                var begun = await provider.GetRequiredService<IIdempotencyStore>().TryBeginAsync("keyed", new byte[] { 1 }, TimeSpan.FromSeconds(30), CancellationToken.None);
                Assert.Equal(IdempotencyBeginStatus.Acquired, begun.Status);
            }

            Assert.True(connection.IsConnected);
        }
        finally
        {
            await connection.DisposeAsync();
            await unusable.DisposeAsync();
        }
    }

    [Fact]
    public async Task AddRedisStore_with_a_factory_makes_the_connection_from_the_applications_services_once()
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration(server.ConnectionString));
        try
        {
            var calls = 0;
            var services = new ServiceCollection();
            services.AddSingleton(new RedisEndpoint(server.ConnectionString));
            services.AddIdempotency().AddRedisStore(
                provider =>
                {
                    Interlocked.Increment(ref calls);
                    Assert.Equal(server.ConnectionString, provider.GetRequiredService<RedisEndpoint>().Value);
                    return Task.FromResult<IConnectionMultiplexer>(connection);
                },
                options => options.KeyPrefix = TestStores.UniquePrefix("factory-connection"));

            await using (var provider = services.BuildServiceProvider())
            {
                provider.GetRequiredService<IStartupValidator>().Validate();
                var store = provider.GetRequiredService<IIdempotencyStore>();
                Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync("a", new byte[] { 1 }, TimeSpan.FromSeconds(30), CancellationToken.None)).Status);
                Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync("b", new byte[] { 1 }, TimeSpan.FromSeconds(30), CancellationToken.None)).Status);
            }

            Assert.Equal(1, calls);
            Assert.True(connection.IsConnected);
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public void A_factory_and_a_configuration_string_together_fail_start_up()
    {
        var errors = ValidationErrors(services => services.AddIdempotency().AddRedisStore(
            static _ => Task.FromResult<IConnectionMultiplexer>(null!),
            static options => options.Configuration = "localhost"));

        Assert.Contains("not both", errors, StringComparison.Ordinal);
    }

    private sealed record RedisEndpoint(string Value);

    [Fact]
    public void Start_up_fails_when_no_connection_is_registered_under_the_service_key_and_names_the_key()
    {
        var errors = ValidationErrors(services =>
        {
            services.AddSingleton<IConnectionMultiplexer>(_ => throw new InvalidOperationException("not used"));
            services.AddIdempotency().AddRedisStore(serviceKey: "cache");
        });

        Assert.Contains("keyed 'cache'", errors, StringComparison.Ordinal);
        Assert.Contains("none is registered", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_the_store_created_is_closed_with_the_service_provider()
    {
        var options = Options.Create(new RedisIdempotencyStoreOptions { Configuration = server.ConnectionString });
        var connections = new RedisConnectionProvider(options);
        var connection = await connections.GetConnectionAsync(CancellationToken.None);
        Assert.True(connection.IsConnected);

        await connections.DisposeAsync();

        Assert.False(connection.IsConnected);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => connections.GetDatabaseAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task A_factory_that_fails_is_asked_again_on_the_next_call()
    {
        var calls = 0;
        var connection = await server.GetConnectionAsync();
        var connections = new RedisConnectionProvider(Options.Create(new RedisIdempotencyStoreOptions
        {
            ConnectionMultiplexerFactory = () => ++calls == 1 ? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "down") : Task.FromResult(connection),
        }));

        await Assert.ThrowsAsync<RedisConnectionException>(() => connections.GetDatabaseAsync(CancellationToken.None).AsTask());
        await connections.GetDatabaseAsync(CancellationToken.None);

        Assert.Equal(2, calls);
        await connections.DisposeAsync();
        Assert.True(connection.IsConnected);
    }

    [Fact]
    public void The_store_connection_fails_fast_and_keeps_reconnecting()
    {
        var configuration = RedisConnectionProvider.CreateConfiguration("localhost:6379,abortConnect=true");

        Assert.Same(BacklogPolicy.FailFast, configuration.BacklogPolicy);
        Assert.False(configuration.AbortOnConnectFail);
    }

    [Fact]
    public void The_store_connection_reads_its_sockets_on_the_thread_pool()
    {
        var configuration = RedisConnectionProvider.CreateConfiguration("localhost:6379");

        Assert.Same(SocketManager.ThreadPool, configuration.SocketManager);
    }
}
