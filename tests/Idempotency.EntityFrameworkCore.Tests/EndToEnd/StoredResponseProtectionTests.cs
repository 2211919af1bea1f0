using System.Net;
using System.Text;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore.Tests.EndToEnd;

/// <summary>
/// Stored responses protected at rest in the EF Core store (SQLite and PostgreSQL), through the real middleware and
/// <c>ProtectStoredResponses()</c>, for plain records, records in a request transaction and a stream's window: the
/// database reveals neither body nor headers, retries replay, a reused key is refused, protected and unprotected rows
/// replay side by side, rows written before a key rotation replay after it, and a tampered row is never run again.
/// </summary>
public abstract class StoredResponseProtectionTests(StoreDatabase database) : IDisposable
{
    private readonly TestKeyRing _ring = new();
    private int _executions;

    public void Dispose() => _ring.Dispose();

    private static string NewSecret() => $"secret-{Guid.NewGuid():N}";

    /// <summary>An instance of the application; <paramref name="ring"/> null runs without protection.</summary>
    private async Task<WebApplication> StartAsync(TestKeyRing? ring, bool protectNewResponses = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddDbContext<TestDbContext>(database.Configure);
        var idempotency = builder.Services.AddIdempotency(options =>
        {
            options.AddPolicy("tx", p => p.Transactional = true);
            options.AddPolicy("tx-sequence", p =>
            {
                p.Transactional = true;
                p.SequenceRequirement = SequenceRequirement.Required;
            });
        }).AddEntityFrameworkCoreStore<TestDbContext>();
        if (ring is not null)
        {
            ring.Register(builder.Services);
            idempotency.ProtectStoredResponses(protectNewResponses: protectNewResponses);
        }

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
        context.Response.Headers.Location = $"/receipts/{execution}";
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($"{{\"execution\":{execution},\"echo\":{body}}}");
    }

    private static HttpRequestMessage Post(string path, string key, string secret, long? sequence = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent($"{{\"card\":\"{secret}\"}}", Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        if (sequence is { } number)
        {
            request.Headers.TryAddWithoutValidation("Sequence-Number", number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return request;
    }

    private static async Task<string> SendAsync(WebApplication app, HttpRequestMessage request)
    {
        using var client = app.GetTestClient();
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Every stored response in the store's tables, records and stream windows alike, with the row's key.</summary>
    private async Task<List<(string Key, byte[] Response)>> StoredAsync()
    {
        var rows = new List<(string, byte[])>();
        await using var context = database.CreateContext();
        var connection = context.Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key, response FROM idempotency_records WHERE response IS NOT NULL UNION ALL SELECT stream_key, response FROM idempotency_stream_responses";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        }

        return rows;
    }

    private static bool Contains(byte[] stored, string text) => stored.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    [Fact]
    public async Task The_database_holds_every_kind_of_response_protected_and_retries_replay_them()
    {
        await database.ClearAsync();
        await using var app = await StartAsync(_ring);
        var secret = NewSecret();
        var requests = new Func<HttpRequestMessage>[]
        {
            () => Post("/items", "plain-record", secret),
            () => Post("/pay", "transactional-record", secret),
            () => Post("/transfer", "transfer-1", secret, sequence: 1),
        };

        foreach (var request in requests)
        {
            var first = await SendAsync(app, request());
            using var client = app.GetTestClient();
            var replay = await client.SendAsync(request());
            Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
            Assert.Equal(first, await replay.Content.ReadAsStringAsync());
        }

        Assert.Equal(3, _executions);
        var stored = await StoredAsync();
        Assert.Equal(3, stored.Count);
        foreach (var (key, response) in stored)
        {
            Assert.Equal(StoredResponseSerializer.ProtectedFormatVersion, response[0]);
            Assert.False(Contains(response, secret), $"The body of {key} is in the database in plaintext.");
            Assert.False(Contains(response, "/receipts/"), $"The Location of {key} is in the database in plaintext.");
        }
    }

    [Fact]
    public async Task A_retry_with_another_body_is_refused_not_served_the_protected_response()
    {
        await using var app = await StartAsync(_ring);
        var key = $"reused-{Guid.NewGuid():N}";
        await SendAsync(app, Post("/items", key, NewSecret()));
        using var client = app.GetTestClient();

        var reused = await client.SendAsync(Post("/items", key, NewSecret()));

        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task Protection_switched_on_and_off_in_a_running_system_replays_every_row()
    {
        await database.ClearAsync();
        var id = Guid.NewGuid().ToString("N");
        var (plainKey, protectedKey) = ($"plain-{id}", $"protected-{id}");
        var secret = NewSecret();
        string plainBody, protectedBody;
        await using (var before = await StartAsync(ring: null))
        {
            plainBody = await SendAsync(before, Post("/pay", plainKey, secret));
        }

        await using (var on = await StartAsync(_ring))
        {
            protectedBody = await SendAsync(on, Post("/pay", protectedKey, secret));
            Assert.Equal(plainBody, await SendAsync(on, Post("/pay", plainKey, secret)));
        }

        await using var off = await StartAsync(_ring, protectNewResponses: false);
        await SendAsync(off, Post("/pay", $"after-{id}", secret));

        Assert.Equal(plainBody, await SendAsync(off, Post("/pay", plainKey, secret)));
        Assert.Equal(protectedBody, await SendAsync(off, Post("/pay", protectedKey, secret)));
        Assert.Equal(3, _executions);
        var versions = (await StoredAsync()).ConvertAll(static row => row.Response[0]);
        versions.Sort();
        Assert.Equal([StoredResponseSerializer.FormatVersion, StoredResponseSerializer.FormatVersion, StoredResponseSerializer.ProtectedFormatVersion], versions);
    }

    [Fact]
    public async Task A_row_written_before_a_key_rotation_replays_after_it()
    {
        await database.ClearAsync();
        var key = $"rotation-{Guid.NewGuid():N}";
        var secret = NewSecret();
        string body;
        await using (var before = await StartAsync(_ring))
        {
            body = await SendAsync(before, Post("/items", key, secret));
        }

        _ring.Rotate();

        // A deployment after the rotation protects with the new key and reads rows protected with the old one.
        await using var after = await StartAsync(_ring);
        await SendAsync(after, Post("/items", $"{key}-after", secret));
        using var client = after.GetTestClient();
        var replay = await client.SendAsync(Post("/items", key, secret));

        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(body, await replay.Content.ReadAsStringAsync());
        Assert.Equal(2, _executions);
        var stored = await StoredAsync();
        Assert.All(stored, static row => Assert.Equal(StoredResponseSerializer.ProtectedFormatVersion, row.Response[0]));
        Assert.Equal(2, stored.ConvertAll(static row => TestKeyRing.KeyIdOf(row.Response)).Distinct().Count());
    }

    [Fact]
    public async Task A_tampered_protected_row_answers_500_and_never_runs_again()
    {
        await database.ClearAsync();
        await using var app = await StartAsync(_ring);
        var secret = NewSecret();
        await SendAsync(app, Post("/items", "tampered", secret));
        var (storeKey, response) = Assert.Single(await StoredAsync());
        response[^3] ^= 0x20;
        await using (var context = database.CreateContext())
        {
            var connection = context.Database.GetDbConnection();
            await connection.OpenAsync();
            await using var update = connection.CreateCommand();
            update.CommandText = "UPDATE idempotency_records SET response = @response WHERE key = @key";
            AddParameter(update, "response", response);
            AddParameter(update, "key", storeKey);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        using var client = app.GetTestClient();
        var retry = await client.SendAsync(Post("/items", "tampered", secret));
        var reused = await client.SendAsync(Post("/items", "tampered", NewSecret()));

        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, "idempotency-record-unreadable");

        // The fingerprint is checked before the response is read: a reuse is refused as ever.
        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, _executions);
    }

    [Fact]
    public async Task The_admin_inspection_reads_protected_records_and_stream_windows()
    {
        await database.ClearAsync();
        await using var app = await StartAsync(_ring);
        var secret = NewSecret();
        var paid = await SendAsync(app, Post("/pay", "transactional-record", secret));
        var transferred = await SendAsync(app, Post("/transfer", "transfer-1", secret, sequence: 1));

        var admin = Assert.IsAssignableFrom<IIdempotencyAdminStore>(app.Services.GetRequiredService<IIdempotencyStore>());
        var recordKey = Assert.Single(await KeysAsync("SELECT key FROM idempotency_records"));
        var streamKey = Assert.Single(await KeysAsync("SELECT stream_key FROM idempotency_stream_responses"));
        var record = await admin.InspectRecordAsync(recordKey, CancellationToken.None);
        var stream = await admin.InspectStreamAsync(streamKey, CancellationToken.None);

        Assert.Equal(paid, Encoding.UTF8.GetString(record!.Response!.Body.Span));
        Assert.Equal(transferred, Encoding.UTF8.GetString(Assert.Single(stream!.Window).Response.Body.Span));
    }

    private async Task<List<string>> KeysAsync(string query)
    {
        var keys = new List<string>();
        await using var context = database.CreateContext();
        var connection = context.Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = query;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}

[Collection(SqliteEndToEndCollection.Name)]
public sealed class SqliteStoredResponseProtectionTests(SqliteDatabase database) : StoredResponseProtectionTests(database)
{
}

[Collection(PostgreSqlEndToEndCollection.Name)]
public sealed class PostgreSqlStoredResponseProtectionTests(PostgreSqlDatabase database) : StoredResponseProtectionTests(database)
{
}
