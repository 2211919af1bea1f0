using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Idempotency.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Idempotency.AdminTests;

/// <summary>
/// The admin endpoints end to end, through the real middleware, authentication and authorization, on the store a
/// derived class registers (once per store, as OutputCaching's tests run once per store).
/// </summary>
public abstract class AdminEndpointTests
{
    /// <summary>Registers the store under test (nothing for the in-memory default), isolated from other tests.</summary>
    private protected abstract void UseStore(IIdempotencyBuilder idempotency);

    private Task<AdminTestApp> StartAsync() => AdminTestApp.StartAsync(UseStore);

    private static string NewKey() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task An_in_flight_record_shows_its_owners_token_and_lease_then_its_completed_response()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        app.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = app.Client.SendAsync(AdminTestApp.Order("alice", key));
        await app.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var inFlight = await GetJsonAsync(app, $"/records?scope=sub:alice&key={key}");

        Assert.Equal("in-flight", inFlight.GetProperty("state").GetString());
        Assert.True(inFlight.GetProperty("fencingToken").GetInt64() != 0);
        Assert.Matches("^[0-9A-F]{64}$", inFlight.GetProperty("recordId").GetString());
        Assert.True(inFlight.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.False(inFlight.TryGetProperty("response", out _));

        app.Gate.SetResult();
        var response = await order;
        var body = await response.Content.ReadAsByteArrayAsync();
        var completed = await GetJsonAsync(app, $"/records?scope=sub:alice&key={key}");

        Assert.Equal("completed", completed.GetProperty("state").GetString());
        Assert.Equal(inFlight.GetProperty("recordId").GetString(), completed.GetProperty("recordId").GetString());
        Assert.False(completed.TryGetProperty("fencingToken", out _));
        var stored = completed.GetProperty("response");
        Assert.Equal(201, stored.GetProperty("statusCode").GetInt32());
        Assert.Contains(stored.GetProperty("headers").EnumerateArray(), header => header.GetProperty("name").GetString() == "Location"
            && header.GetProperty("values")[0].GetString() == "/orders/1001");
        Assert.Equal(body.Length, stored.GetProperty("bodyBytes").GetInt64());
        Assert.Equal(Convert.ToHexString(SHA256.HashData(body)), stored.GetProperty("bodySha256").GetString());
        Assert.False(stored.TryGetProperty("bodyBase64", out _));
        Assert.False(completed.TryGetProperty("key", out _));

        // Retention (24 h by default) from when it completed, by the store's clock.
        var completedAt = completed.GetProperty("completedAt").GetDateTimeOffset();
        Assert.Equal(TimeSpan.FromHours(24), completed.GetProperty("expiresAt").GetDateTimeOffset() - completedAt);
        Assert.True((completedAt - DateTimeOffset.UtcNow).Duration() < TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task A_record_looked_up_by_the_id_its_logs_name_is_the_one_its_key_names()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        await app.Client.SendAsync(AdminTestApp.Order("alice", key));
        var byKey = await GetJsonAsync(app, $"/records?scope=sub:alice&key={key}");
        var id = byKey.GetProperty("recordId").GetString();

        var byId = await GetJsonAsync(app, $"/records/{id!.ToLowerInvariant()}");

        Assert.Equal(id, byId.GetProperty("recordId").GetString());
        Assert.Equal(byKey.GetProperty("response").GetProperty("bodySha256").GetString(), byId.GetProperty("response").GetProperty("bodySha256").GetString());
        Assert.Contains(app.Logs.GetSnapshot(), record => record.Id.Name == "Completed" && record.Message.Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_released_record_is_not_found()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        var failed = await app.Client.SendAsync(AdminTestApp.Order("alice", key, fail: true));
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);

        var response = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, $"/records?scope=sub:alice&key={key}"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "admin-not-found");
    }

    [Fact]
    public async Task Records_of_another_scope_are_another_callers()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        await app.Client.SendAsync(AdminTestApp.Order("alice", key));

        var response = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, $"/records?scope=sub:bob&key={key}"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "admin-not-found");
    }

    [Fact]
    public async Task Deleting_a_record_lets_the_next_request_with_its_key_execute_again()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        Assert.Equal(HttpStatusCode.Created, (await app.Client.SendAsync(AdminTestApp.Order("alice", key))).StatusCode);
        var replay = await app.Client.SendAsync(AdminTestApp.Order("alice", key));
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, app.OrderExecutions);

        var deleted = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, $"/records?scope=sub:alice&key={key}"));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var again = await app.Client.SendAsync(AdminTestApp.Order("alice", key));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.OrderExecutions);
        var deletedAgain = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, $"/records?scope=sub:alice&key={NewKey()}"));
        await ProblemAssert.IsProblemAsync(deletedAgain, HttpStatusCode.NotFound, "admin-not-found");
    }

    [Fact]
    public async Task Deleting_a_record_evicts_it_from_this_instances_local_replay_cache()
    {
        await using var app = await AdminTestApp.StartAsync(idempotency =>
        {
            UseStore(idempotency);
            idempotency.Services.Configure<IdempotencyOptions>(options => options.DefaultPolicy.UseLocalReplayCache = true);
        });
        var key = NewKey();
        Assert.Equal(HttpStatusCode.Created, (await app.Client.SendAsync(AdminTestApp.Order("alice", key))).StatusCode);

        // The first replay comes from the store and fills the cache, the next ones from the cache.
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await app.Client.SendAsync(AdminTestApp.Order("alice", key))).Headers.Contains("Idempotent-Replayed"));
        }

        var deleted = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, $"/records?scope=sub:alice&key={key}"));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var again = await app.Client.SendAsync(AdminTestApp.Order("alice", key));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, app.OrderExecutions);
    }

    [Fact]
    public async Task A_stream_shows_its_epoch_last_number_and_window_and_a_reset_starts_it_over()
    {
        await using var app = await StartAsync();
        for (var number = 1; number <= 5; number++)
        {
            Assert.Equal(HttpStatusCode.Created, (await app.Client.SendAsync(AdminTestApp.Transfer("carol", number))).StatusCode);
        }

        var stream = await GetJsonAsync(app, "/streams?scope=sub:carol&stream=default");

        Assert.Equal(0, stream.GetProperty("epoch").GetInt64());
        Assert.Equal(5, stream.GetProperty("lastSequenceNumber").GetInt64());
        Assert.Equal([2L, 3L, 4L, 5L], stream.GetProperty("window").EnumerateArray().Select(entry => entry.GetProperty("sequenceNumber").GetInt64()));
        Assert.Equal(201, stream.GetProperty("window")[3].GetProperty("response").GetProperty("statusCode").GetInt32());
        Assert.False(stream.TryGetProperty("slot", out _));
        var byId = await GetJsonAsync(app, "/streams/" + stream.GetProperty("streamId").GetString());
        Assert.Equal(5, byId.GetProperty("lastSequenceNumber").GetInt64());

        var reset = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, "/streams?scope=sub:carol&stream=default"));

        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await app.Client.SendAsync(AdminTestApp.Transfer("carol", 1))).StatusCode);
        Assert.Equal(6, app.TransferExecutions);
        var missing = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, "/streams?scope=sub:carol&stream=other"));
        await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.NotFound, "admin-not-found");
    }

    [Fact]
    public async Task Unauthenticated_callers_get_401_and_callers_the_policy_refuses_get_403()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        await app.Client.SendAsync(AdminTestApp.Order("alice", key));

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            var anonymous = await app.Client.SendAsync(AdminTestApp.Admin(method, $"/records?scope=sub:alice&key={key}", user: null));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            var customer = await app.Client.SendAsync(AdminTestApp.Admin(method, $"/records?scope=sub:alice&key={key}", user: "alice", roles: ""));
            Assert.Equal(HttpStatusCode.Forbidden, customer.StatusCode);
        }

        var stream = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, "/streams?scope=sub:alice&stream=default", user: "mallory", roles: "auditor"));
        Assert.Equal(HttpStatusCode.Forbidden, stream.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await app.Client.SendAsync(AdminTestApp.Order("alice", key))).StatusCode);
        Assert.Equal(1, app.OrderExecutions);
    }

    [Fact]
    public async Task Contents_are_shown_only_when_asked_and_allowed()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        var order = await app.Client.SendAsync(AdminTestApp.Order("alice", key));
        var body = await order.Content.ReadAsByteArrayAsync();
        var path = $"/records?scope=sub:alice&key={key}&include=body,key";

        var refused = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, path, roles: "operator"));
        var shown = await GetJsonAsync(app, path, roles: "operator,auditor");

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, "admin-content-forbidden");
        Assert.Equal(body, Convert.FromBase64String(shown.GetProperty("response").GetProperty("bodyBase64").GetString()!));
        Assert.Equal(key, shown.GetProperty("key").GetString());
        Assert.Equal("sub:alice", shown.GetProperty("scope").GetString());
    }

    [Fact]
    public async Task Answers_showing_contents_are_never_cached()
    {
        await using var app = await StartAsync();
        var key = NewKey();
        await app.Client.SendAsync(AdminTestApp.Order("alice", key));

        var record = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, $"/records?scope=sub:alice&key={key}&include=body,key", roles: "operator,auditor"));
        var stream = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, "/streams?scope=sub:alice&stream=default&include=body", roles: "operator,auditor"));

        Assert.Equal(HttpStatusCode.OK, record.StatusCode);
        Assert.True(record.Headers.CacheControl?.NoStore, "A stored body shown to an auditor must not stay in a browser's or proxy's cache.");
        Assert.True(stream.Headers.CacheControl?.NoStore);
    }

    [Theory]
    [InlineData("/records?key=abc")]
    [InlineData("/records?scope=sub:alice")]
    [InlineData("/records?scope=alice&key=abc")]
    [InlineData("/records?scope=sub:alice&key=abc&key=def")]
    [InlineData("/records?scope=sub:alice&key=abc&policy=nope")]
    [InlineData("/records?scope=sub:alice&key=abc&include=everything")]
    [InlineData("/records/not-a-record-id")]
    [InlineData("/records/0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEZ")]
    [InlineData("/streams?scope=sub:alice")]
    public async Task Bad_lookups_get_400(string pathAndQuery)
    {
        await using var app = await StartAsync();

        var response = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, pathAndQuery));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "admin-request-invalid");
    }

    [Fact]
    public async Task Keys_and_scopes_longer_than_the_limits_get_400_without_touching_the_store()
    {
        await using var app = await StartAsync();

        var longKey = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, "/records?scope=sub:alice&key=" + new string('k', 256)));
        var longScope = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, "/records?key=abc&scope=sub:" + new string('s', 1100)));
        var longStream = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, "/streams?scope=sub:alice&stream=" + new string('s', 129)));

        await ProblemAssert.IsProblemAsync(longKey, HttpStatusCode.BadRequest, "admin-request-invalid");
        await ProblemAssert.IsProblemAsync(longScope, HttpStatusCode.BadRequest, "admin-request-invalid");
        await ProblemAssert.IsProblemAsync(longStream, HttpStatusCode.BadRequest, "admin-request-invalid");
    }

    [Fact]
    public async Task Every_action_is_logged_with_the_caller_and_record_id_never_the_key_and_counted()
    {
        await using var app = await StartAsync();
        using var actions = new MetricCollector<long>(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Idempotency", "idempotency.admin.actions");
        var key = "order-1001-" + NewKey();
        await app.Client.SendAsync(AdminTestApp.Order("alice", key));

        var record = await GetJsonAsync(app, $"/records?scope=sub:alice&key={key}", user: "ops-jane");
        await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, $"/records?scope=sub:alice&key={key}", user: "ops-jane"));
        await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, "/records?scope=nobody&key=x", user: "ops-jane"));

        var id = record.GetProperty("recordId").GetString()!;
        var adminLogs = app.Logs.GetSnapshot().Where(entry => entry.Category == "Idempotency.Admin").ToList();
        Assert.Equal(3, adminLogs.Count);
        Assert.All(adminLogs, entry =>
        {
            Assert.Equal(LogLevel.Information, entry.Level);
            Assert.Contains("ops-jane", entry.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(key, entry.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("alice", entry.Message, StringComparison.Ordinal);
        });
        Assert.Contains(id, adminLogs[0].Message, StringComparison.Ordinal);
        Assert.Contains(id, adminLogs[1].Message, StringComparison.Ordinal);
        var measurements = actions.GetMeasurementSnapshot();
        Assert.Equal(
            ["inspect_record:found", "delete_record:deleted", "inspect_record:invalid"],
            measurements.Select(m => $"{m.Tags["idempotency.admin.action"]}:{m.Tags["idempotency.admin.result"]}"));
    }

    private static async Task<JsonElement> GetJsonAsync(AdminTestApp app, string pathAndQuery, string user = "ops", string roles = "operator")
    {
        var response = await app.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Get, pathAndQuery, user, roles));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement;
    }
}
