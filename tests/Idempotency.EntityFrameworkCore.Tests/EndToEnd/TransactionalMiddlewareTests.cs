using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore.Tests.EndToEnd;

/// <summary>
/// The middleware in transactional mode on the store: the handler's ledger row and the record commit together, so
/// every key has exactly one row however its copies race, and a handler that fails leaves nothing.
/// </summary>
public abstract class TransactionalMiddlewareTests(StoreDatabase database) : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private int _executions;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddDbContext<TestDbContext>(database.Configure);
        builder.Services.AddIdempotency(options =>
        {
            options.AddPolicy("tx", p => p.Transactional = true);
            options.AddPolicy("tx-cached", p =>
            {
                p.Transactional = true;
                p.UseLocalReplayCache = true;
            });
            options.AddPolicy("tx-sequence", p =>
            {
                p.Transactional = true;
                p.SequenceRequirement = SequenceRequirement.Required;
            });
        }).AddEntityFrameworkCoreStore<TestDbContext>();
        _app = builder.Build();

        // Under /handled an exception handler outside the middleware answers, and writes through the request's context
        // as error handlers do (an error log), after the transaction has rolled back.
        _app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/handled", StringComparison.Ordinal),
            handled => handled.UseExceptionHandler(new ExceptionHandlerOptions
            {
                ExceptionHandler = async context =>
                {
                    var db = context.RequestServices.GetRequiredService<TestDbContext>();
                    db.Ledger.Add(new LedgerEntry { Id = $"error-{Guid.NewGuid():N}", Amount = 0 });
                    await db.SaveChangesAsync();
                    await context.Response.WriteAsync("failed");
                },
            }));
        _app.UseIdempotency();
        _app.MapPost("/pay/{id}", async (string id, TestDbContext context) =>
        {
            var execution = Interlocked.Increment(ref _executions);
            context.Ledger.Add(new LedgerEntry { Id = $"{id}-{Guid.NewGuid():N}", Amount = 100 });
            await context.SaveChangesAsync();
            return Results.Text($"payment {execution}", statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency("tx");
        _app.MapPost("/pay-cached/{id}", async (string id, TestDbContext context) =>
        {
            var execution = Interlocked.Increment(ref _executions);
            context.Ledger.Add(new LedgerEntry { Id = $"{id}-{Guid.NewGuid():N}", Amount = 100 });
            await context.SaveChangesAsync();
            return Results.Text($"payment {execution}", statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency("tx-cached");
        _app.MapPost("/fail/{id}", async (string id, TestDbContext context) =>
        {
            context.Ledger.Add(new LedgerEntry { Id = $"{id}-{Guid.NewGuid():N}", Amount = 100 });
            await context.SaveChangesAsync();
            throw new InvalidOperationException("The handler failed after its write.");
        }).RequireIdempotency("tx");
        _app.MapPost("/handled/fail/{id}", async (string id, TestDbContext context) =>
        {
            context.Ledger.Add(new LedgerEntry { Id = $"{id}-{Guid.NewGuid():N}", Amount = 100 });
            await context.SaveChangesAsync();
            context.Ledger.Add(new LedgerEntry { Id = $"{id}-{Guid.NewGuid():N}", Amount = 100 });
            throw new InvalidOperationException("The handler failed between its writes.");
        }).RequireIdempotency("tx");
        _app.MapPost("/transfer/{id}", async (string id, TestDbContext context) =>
        {
            context.Ledger.Add(new LedgerEntry { Id = $"{id}-{Guid.NewGuid():N}", Amount = 1 });
            await context.SaveChangesAsync();
            return Results.Text("transferred");
        }).RequireIdempotency("tx-sequence");
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    private static HttpRequestMessage Post(string path, string key, long? sequence = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{\"amount\":100}", Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        if (sequence is { } number)
        {
            request.Headers.TryAddWithoutValidation("Sequence-Number", number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return request;
    }

    private async Task<int> RowsAsync(string id)
    {
        await using var context = database.CreateContext();
        var prefix = id + "-";
        return await context.Ledger.CountAsync(e => e.Id.StartsWith(prefix));
    }

    [Fact]
    public async Task A_retry_after_the_commit_replays_and_writes_nothing()
    {
        var id = Guid.NewGuid().ToString("N");
        var first = await _client.SendAsync(Post($"/pay/{id}", id));
        var retry = await _client.SendAsync(Post($"/pay/{id}", id));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, await RowsAsync(id));
    }

    [Fact]
    public async Task With_the_local_replay_cache_only_the_first_retry_opens_a_transaction()
    {
        using var storeCalls = new MetricCollector<double>(_app.Services.GetRequiredService<IMeterFactory>(), "Idempotency", "idempotency.store.operation.duration");
        var id = Guid.NewGuid().ToString("N");
        var first = await _client.SendAsync(Post($"/pay-cached/{id}", id));
        var fromStore = await _client.SendAsync(Post($"/pay-cached/{id}", id));
        var expected = await fromStore.Content.ReadAsStringAsync();

        for (var i = 0; i < 5; i++)
        {
            var cached = await _client.SendAsync(Post($"/pay-cached/{id}", id));
            Assert.Equal(HttpStatusCode.Created, cached.StatusCode);
            Assert.Equal("true", cached.Headers.GetValues("Idempotent-Replayed").Single());
            Assert.Equal(expected, await cached.Content.ReadAsStringAsync());
        }

        Assert.Equal(await first.Content.ReadAsStringAsync(), expected);
        Assert.Equal(1, await RowsAsync(id));
        Assert.Equal(2, storeCalls.GetMeasurementSnapshot().Count(m => (string?)m.Tags["idempotency.store.operation"] == "begin_transaction"));
    }

    [Fact]
    public async Task Racing_copies_of_one_request_write_exactly_one_row()
    {
        var id = Guid.NewGuid().ToString("N");
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => _client.SendAsync(Post($"/pay/{id}", id)))));

        var bodies = new HashSet<string>();
        foreach (var response in responses)
        {
            Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, $"Unexpected {(int)response.StatusCode}.");
            if (response.StatusCode == HttpStatusCode.Created)
            {
                bodies.Add(await response.Content.ReadAsStringAsync());
            }
        }

        Assert.Single(bodies);
        Assert.Equal(1, await RowsAsync(id));
    }

    [Fact]
    public async Task A_handler_that_fails_after_its_write_leaves_nothing_and_its_retry_runs_again()
    {
        var id = Guid.NewGuid().ToString("N");
        // The test server hands the handler's exception to the client.
        await Assert.ThrowsAsync<InvalidOperationException>(() => _client.SendAsync(Post($"/fail/{id}", id)));
        Assert.Equal(0, await RowsAsync(id));

        var retry = await _client.SendAsync(Post($"/pay/{id}", id));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(1, await RowsAsync(id));
    }

    [Fact]
    public async Task A_failed_handlers_unsaved_writes_are_not_committed_by_an_exception_handler_that_saves_through_the_same_context()
    {
        var id = Guid.NewGuid().ToString("N");

        var response = await _client.SendAsync(Post($"/handled/fail/{id}", id));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("failed", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, await RowsAsync(id));
    }

    [Fact]
    public async Task Sequence_numbers_apply_once_each_in_the_business_transaction()
    {
        var id = Guid.NewGuid().ToString("N");
        for (var n = 1; n <= 3; n++)
        {
            Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(Post($"/transfer/{id}", $"{id}-{n}", n))).StatusCode);
        }

        var replay = await _client.SendAsync(Post($"/transfer/{id}", $"{id}-2", 2));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(3, await RowsAsync(id));
    }
}

[Collection(SqliteEndToEndCollection.Name)]
public sealed class SqliteTransactionalMiddlewareTests(SqliteDatabase database) : TransactionalMiddlewareTests(database)
{
}

[Collection(PostgreSqlEndToEndCollection.Name)]
public sealed class PostgreSqlTransactionalMiddlewareTests(PostgreSqlDatabase database) : TransactionalMiddlewareTests(database)
{
}

[CollectionDefinition(Name)]
public sealed class SqliteEndToEndCollection : ICollectionFixture<SqliteDatabase>
{
    public const string Name = "SQLite end to end";
}

[CollectionDefinition(Name)]
public sealed class PostgreSqlEndToEndCollection : ICollectionFixture<PostgreSqlDatabase>
{
    public const string Name = "PostgreSQL end to end";
}
