using Idempotency.Redis.Internal;
using Idempotency.Testing.Redis;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// A Redis server for one test class plus one connection its store tests share, configured exactly as the store
/// configures a connection it creates (fail fast, keep reconnecting).
/// </summary>
public sealed class RedisStoreFixture(IMessageSink diagnostics) : RedisServerFixture(diagnostics)
{
    private ConnectionMultiplexer? _connection;

    public async Task<IConnectionMultiplexer> GetConnectionAsync()
        => _connection ??= await ConnectionMultiplexer.ConnectAsync(RedisConnectionProvider.CreateConfiguration(ConnectionString));

    public override async Task DisposeAsync()
    {
        // The connection goes first: a multiplexer outliving its server would keep reconnecting in the background.
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}
