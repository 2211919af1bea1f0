using System.Net;
using System.Text;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore.Tests.EndToEnd;

/// <summary>
/// Compressed records in the EF Core store (SQLite and PostgreSQL), through the real middleware, for plain records,
/// records in a request transaction and a stream's window: each row holds the response compressed, then protected, and
/// every retry replays it byte for byte.
/// </summary>
public abstract class CompressedRecordTests(StoreDatabase database) : IDisposable
{
    private readonly TestKeyRing _ring = new();
    private int _executions;

    public void Dispose() => _ring.Dispose();

    private async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddDbContext<TestDbContext>(database.Configure);
        _ring.Register(builder.Services);
        builder.Services.AddIdempotency(options =>
        {
            options.CompressStoredResponses = true;
            options.AddPolicy("tx", p => p.Transactional = true);
            options.AddPolicy("tx-sequence", p =>
            {
                p.Transactional = true;
                p.SequenceRequirement = SequenceRequirement.Required;
            });
        }).AddEntityFrameworkCoreStore<TestDbContext>().ProtectStoredResponses();

        var app = builder.Build();
        app.UseIdempotency();
        app.MapPost("/items", (HttpContext context) => Respond(context)).RequireIdempotency();
        app.MapPost("/pay", (HttpContext context) => Respond(context)).RequireIdempotency("tx");
        app.MapPost("/transfer", (HttpContext context) => Respond(context)).RequireIdempotency("tx-sequence");
        await app.StartAsync();
        return app;
    }

    private async Task Respond(HttpContext context)
    {
        var execution = Interlocked.Increment(ref _executions);
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($"{{\"execution\":{execution},\"echo\":{body}}}");
    }

    private static HttpRequestMessage Post(string path, string key, long? sequence = null)
    {
        var lines = new StringBuilder("[");
        for (var i = 0; lines.Length < 8 * 1024; i++)
        {
            lines.Append(i == 0 ? "" : ",").Append("{\"line\":").Append(i).Append(",\"sku\":\"SKU-").Append(i * 7919 % 10_000).Append("\"}");
        }

        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(lines.Append(']').ToString(), Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        if (sequence is { } number)
        {
            request.Headers.TryAddWithoutValidation("Sequence-Number", number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return request;
    }

    private async Task<List<byte[]>> StoredAsync()
    {
        var rows = new List<byte[]>();
        await using var context = database.CreateContext();
        var connection = context.Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT response FROM idempotency_records WHERE response IS NOT NULL UNION ALL SELECT response FROM idempotency_stream_responses";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((byte[])reader.GetValue(0));
        }

        return rows;
    }

    [Fact]
    public async Task Every_kind_of_response_is_stored_compressed_then_protected_and_replays_byte_for_byte()
    {
        await database.ClearAsync();
        await using var app = await StartAsync();
        var requests = new Func<HttpRequestMessage>[]
        {
            () => Post("/items", "plain-record"),
            () => Post("/pay", "transactional-record"),
            () => Post("/transfer", "transfer-1", sequence: 1),
        };

        var largest = 0;
        foreach (var request in requests)
        {
            using var client = app.GetTestClient();
            var first = await client.SendAsync(request());
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
            var firstBody = await first.Content.ReadAsByteArrayAsync();
            largest = Math.Max(largest, firstBody.Length);
            var replay = await client.SendAsync(request());
            Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
            Assert.Equal(firstBody, await replay.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(3, _executions);
        var stored = await StoredAsync();
        Assert.Equal(3, stored.Count);
        foreach (var row in stored)
        {
            Assert.Equal(StoredResponseSerializer.ProtectedFormatVersion, row[0]);
            Assert.Equal(StoredResponseSerializer.CompressedFormatVersion, _ring.Protector.Unprotect(row[1..])[0]);
            Assert.True(row.Length < largest / 3, $"a row of {row.Length} bytes for a body of about {largest}");
        }
    }
}

[Collection(SqliteEndToEndCollection.Name)]
public sealed class SqliteCompressedRecordTests(SqliteDatabase database) : CompressedRecordTests(database)
{
}

[Collection(PostgreSqlEndToEndCollection.Name)]
public sealed class PostgreSqlCompressedRecordTests(PostgreSqlDatabase database) : CompressedRecordTests(database)
{
}
