using Idempotency.EntityFrameworkCore.Relational;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.EntityFrameworkCore.Tests.Storage;

/// <summary>Fencing across instances, the purge and the database clock, on one provider.</summary>
public abstract class StoreMaintenanceTests(StoreDatabase database)
{
    private static readonly byte[] s_fingerprint = "fp"u8.ToArray();
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);

    private static StoredResponse Response() => new(200, [], "ok"u8.ToArray(), isBodyStored: true);

    private ExpiredRowPurge Purge(int batchSize, IServiceProvider services)
        => new(
            new StoreContextSource<TestDbContext>(services),
            Options.Create(new EntityFrameworkCoreIdempotencyStoreOptions { PurgeBatchSize = batchSize }),
            NullLogger<ExpiredRowPurge>.Instance,
            TimeProvider.System);

    private async Task<long> CountAsync(string table)
    {
        await using var context = database.CreateContext();
        var connection = context.Database.GetDbConnection();
        await context.Database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table}";
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Two_store_instances_never_hand_out_the_same_token()
    {
        await using var services = database.CreateServices();
        var first = database.CreateStore(services);
        var second = database.CreateStore(services);
        var tokens = new HashSet<long>();
        for (var i = 0; i < 20; i++)
        {
            foreach (var store in new[] { first, second })
            {
                var begin = await store.TryBeginAsync(Guid.NewGuid().ToString("N"), s_fingerprint, Long, CancellationToken.None);
                Assert.Equal(IdempotencyBeginStatus.Acquired, begin.Status);
                Assert.True(tokens.Add(begin.FencingToken), $"Token {begin.FencingToken} was handed out twice.");
            }
        }
    }

    [Fact]
    public async Task A_key_purged_and_created_again_by_another_instance_gets_a_new_token()
    {
        await using var services = database.CreateServices();
        var key = Guid.NewGuid().ToString("N");
        var before = await database.CreateStore(services).TryBeginAsync(key, s_fingerprint, Short, CancellationToken.None);
        await RealTime.WaitAsync(Short * 2);
        await Purge(1000, services).PurgeAsync(CancellationToken.None);

        // A new instance (a restarted process) reserves a block of its own from the counter, which never goes back.
        var after = await database.CreateStore(services).TryBeginAsync(key, s_fingerprint, Long, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, after.Status);
        Assert.True(after.FencingToken > before.FencingToken, $"{after.FencingToken} after {before.FencingToken}");
    }

    [Fact]
    public async Task The_purge_deletes_only_expired_rows_in_bounded_batches()
    {
        await database.ClearAsync();
        await using var services = database.CreateServices();
        var store = database.CreateStore(services);
        var live = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            await store.TryBeginAsync("expired-" + i, s_fingerprint, Short, CancellationToken.None);
        }

        for (var i = 0; i < 2; i++)
        {
            var key = "live-" + i;
            live.Add(key);
            var begin = await store.TryBeginAsync(key, s_fingerprint, Long, CancellationToken.None);
            Assert.True(await store.CompleteAsync(key, begin.FencingToken, Response(), Long, CancellationToken.None));
        }

        for (var i = 0; i < 3; i++)
        {
            var stream = "expired-stream-" + i;
            var begin = await store.TryBeginSequenceAsync(stream, 0, 1, s_fingerprint, Long, CancellationToken.None);
            Assert.True(await store.CompleteSequenceAsync(stream, begin.FencingToken, Response(), 4, Short, CancellationToken.None));
        }

        var liveStream = await store.TryBeginSequenceAsync("live-stream", 0, 1, s_fingerprint, Long, CancellationToken.None);
        Assert.True(await store.CompleteSequenceAsync("live-stream", liveStream.FencingToken, Response(), 4, Long, CancellationToken.None));
        await RealTime.WaitAsync(Short * 2);

        var (records, streams) = await Purge(batchSize: 2, services).PurgeAsync(CancellationToken.None);

        Assert.Equal(5, records);
        Assert.Equal(3, streams);
        Assert.Equal(2, await CountAsync(Schema.Records.Table));
        Assert.Equal(1, await CountAsync(Schema.Streams.Table));
        Assert.Equal(1, await CountAsync(Schema.StreamResponses.Table));
        foreach (var key in live)
        {
            Assert.Equal(IdempotencyBeginStatus.Completed, (await store.TryBeginAsync(key, s_fingerprint, Long, CancellationToken.None)).Status);
        }

        Assert.Equal(SequenceBeginStatus.Completed, (await store.TryBeginSequenceAsync("live-stream", 0, 1, s_fingerprint, Long, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Expiries_are_set_by_the_database_clock_whatever_the_application_clock_says()
    {
        // The application's clock is a century off; the store must not care.
        var clock = new FakeTimeProvider(new DateTimeOffset(2126, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var services = database.CreateServices(s => s.AddSingleton<TimeProvider>(clock));
        var store = database.CreateStore(services);
        var key = Guid.NewGuid().ToString("N");
        var lease = TimeSpan.FromMinutes(1);
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(key, s_fingerprint, lease, CancellationToken.None)).Status);

        await using var context = database.CreateContext();
        var connection = context.Database.GetDbConnection();
        await context.Database.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Schema.Records.ExpiresAt} - {SqlDialect.For(database.ProviderName)!.Now} FROM {Schema.Records.Table} WHERE \"{Schema.Records.Key}\" = '{key}'";
        var remaining = TimeSpan.FromMilliseconds(Convert.ToInt64(await command.ExecuteScalarAsync()));
        Assert.InRange(remaining, lease - TimeSpan.FromSeconds(10), lease);

        // And the database's clock agrees with this machine's real one, not the fake.
        command.CommandText = $"SELECT {SqlDialect.For(database.ProviderName)!.Now}";
        var databaseNow = DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(await command.ExecuteScalarAsync()));
        Assert.InRange(databaseNow, DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1));
    }
}

[Collection(SqliteCollection.Name)]
public sealed class SqliteStoreMaintenanceTests(SqliteDatabase database) : StoreMaintenanceTests(database)
{
}

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStoreMaintenanceTests(PostgreSqlDatabase database) : StoreMaintenanceTests(database)
{
    private static readonly byte[] s_fingerprint = "fp"u8.ToArray();
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(10);

    private static StoredResponse Response(string body) => new(200, [], System.Text.Encoding.UTF8.GetBytes(body), isBodyStored: true);

    private ExpiredRowPurge Purge(IServiceProvider services)
        => new(
            new StoreContextSource<TestDbContext>(services),
            Options.Create(new EntityFrameworkCoreIdempotencyStoreOptions()),
            NullLogger<ExpiredRowPurge>.Instance,
            TimeProvider.System);

    private async Task<long> OrphanWindowRowsAsync()
    {
        await using var context = database.CreateContext();
        await context.Database.OpenConnectionAsync();
        await using var command = context.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"""
            SELECT count(*) FROM {Schema.StreamResponses.Table} w
            WHERE NOT EXISTS (SELECT 1 FROM {Schema.Streams.Table} s WHERE s.{Schema.Streams.Key} = w.{Schema.StreamResponses.StreamKey})
            """;
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private static async Task CompleteAsync(EntityFrameworkCoreIdempotencyStore store, string stream, long sequence, TimeSpan retention)
    {
        var begin = await store.TryBeginSequenceAsync(stream, 0, sequence, s_fingerprint, Long, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, begin.Status);
        Assert.True(await store.CompleteSequenceAsync(stream, begin.FencingToken, Response(stream + sequence), 16, retention, CancellationToken.None));
    }

    [Fact]
    public async Task A_stream_that_expires_while_the_purge_runs_leaves_no_window_rows_without_their_stream()
    {
        await using var services = database.CreateServices();
        var store = database.CreateStore(services);
        var slow = "slow-" + Guid.NewGuid().ToString("N");
        var expiring = "expiring-" + Guid.NewGuid().ToString("N");
        await CompleteAsync(store, slow, 1, TimeSpan.FromMilliseconds(1));
        await CompleteAsync(store, expiring, 1, Short * 2);

        // Another session holds a window row of the expired stream, so the purge's first statement waits on it
        // while the second stream expires.
        await using var other = database.CreateContext();
        await using var otherTransaction = await other.Database.BeginTransactionAsync();
        await other.Database.ExecuteSqlRawAsync(
            $"SELECT 1 FROM {Schema.StreamResponses.Table} WHERE {Schema.StreamResponses.StreamKey} = {{0}} FOR UPDATE", slow);
        var purge = Purge(services).PurgeAsync(CancellationToken.None);
        await RealTime.WaitAsync(Short * 3);
        await otherTransaction.CommitAsync();
        await purge;

        Assert.Equal(0, await OrphanWindowRowsAsync());
    }

    [Fact]
    public async Task The_purge_keeps_the_window_of_a_stream_a_transaction_revives()
    {
        await using var services = database.CreateServices();
        var store = database.CreateStore(services);
        var stream = Guid.NewGuid().ToString("N");

        // Long enough for the transaction below to begin while the stream is live on a loaded machine (opening it
        // once took longer than 500 ms in CI, and the begin then found the stream gone).
        var retention = TimeSpan.FromSeconds(3);
        await CompleteAsync(store, stream, 1, retention);
        var completed = System.Diagnostics.Stopwatch.GetTimestamp();

        // A request transaction takes the stream's next number while the stream is live, and its handler outlives
        // the stream's retention: the committed row says expired, but the transaction holds it.
        await using var request = services.CreateAsyncScope();
        await using var transaction = await store.BeginTransactionAsync(request.ServiceProvider, TimeSpan.FromSeconds(5), CancellationToken.None);
        var begin = await transaction.TryBeginSequenceAsync(stream, 0, 2, s_fingerprint, Long, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, begin.Status);
        var expired = retention + Short - System.Diagnostics.Stopwatch.GetElapsedTime(completed);
        if (expired > TimeSpan.Zero)
        {
            await RealTime.WaitAsync(expired);
        }

        var purge = Purge(services).PurgeAsync(CancellationToken.None);
        await Task.Delay(300);
        Assert.True(await transaction.CompleteSequenceAsync(stream, begin.FencingToken, Response("two"), 16, Long, CancellationToken.None));
        await transaction.CommitAsync(CancellationToken.None);
        await purge;

        var replay = await store.TryBeginSequenceAsync(stream, 0, 1, s_fingerprint, Long, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Completed, replay.Status);
        Assert.Equal(stream + 1, System.Text.Encoding.UTF8.GetString(replay.Response!.Body.Span));
    }

    [Fact]
    public async Task The_purge_does_not_wait_for_a_transaction_that_took_over_an_expired_record()
    {
        await using var services = database.CreateServices();
        var store = database.CreateStore(services);
        var held = Guid.NewGuid().ToString("N");
        var expired = Guid.NewGuid().ToString("N");
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(held, s_fingerprint, Short, CancellationToken.None)).Status);
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(expired, s_fingerprint, Short, CancellationToken.None)).Status);
        await RealTime.WaitAsync(Short * 2);

        // A request transaction takes the expired record over; its handler is still running.
        await using var request = services.CreateAsyncScope();
        await using var transaction = await store.BeginTransactionAsync(request.ServiceProvider, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await transaction.TryBeginAsync(held, s_fingerprint, Long, CancellationToken.None)).Status);

        var purge = Purge(services).PurgeAsync(CancellationToken.None);
        var finished = await Task.WhenAny(purge, Task.Delay(TimeSpan.FromSeconds(5))) == purge;
        await transaction.DisposeAsync();
        await purge;
        Assert.True(finished, "The purge waited for the request transaction's handler.");

        // The other expired record went, and a request for it is not held up by the running transaction.
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(expired, s_fingerprint, Long, CancellationToken.None)).Status);
    }

    [Theory]
    [InlineData(1, SequenceBeginStatus.Acquired)]
    [InlineData(1000, SequenceBeginStatus.InFlight)]
    public async Task A_stream_begin_whose_stream_is_purged_between_its_insert_and_its_lock_runs_again_instead_of_failing(int deletions, SequenceBeginStatus expected)
    {
        // The purge's delete, placed where it races: after the command's insert found the row, before its lock. A
        // sequence makes it happen only the first `deletions` times.
        var stream = Guid.NewGuid().ToString("N");
        var once = "purge_race_" + stream;
        await using var context = database.CreateContext();
        await context.Database.OpenConnectionAsync();
        var connection = context.Database.GetDbConnection();
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = $"CREATE SEQUENCE {once}; INSERT INTO {Schema.Streams.Table} ({Schema.Streams.Key}, epoch, last_sequence, retain_until, slot_token, slot_epoch, slot_sequence, slot_expires_at, expires_at) VALUES ('{stream}', 0, 0, 0, 0, 0, 0, 0, 0)";
            await create.ExecuteNonQueryAsync();
        }

        var sql = StoreSql.For(PostgreSqlDialect.Instance);
        var racing = sql.BeginStream.Replace(
            "DO NOTHING;",
            $"DO NOTHING;\nDELETE FROM {Schema.Streams.Table} WHERE {Schema.Streams.Key} = {StoreSql.Key} AND nextval('{once}') <= {deletions};",
            StringComparison.Ordinal);
        Assert.NotEqual(sql.BeginStream, racing);

        await using var transaction = await connection.BeginTransactionAsync();
        var begin = await EntityFrameworkCoreIdempotencyStore.BeginStreamAsync(
            connection, transaction, sql, racing, stream, 0, 1, s_fingerprint, Long, 42, responseOptions: new IdempotencyOptions(), CancellationToken.None);
        Assert.Equal(expected, begin.Status);
    }
}
