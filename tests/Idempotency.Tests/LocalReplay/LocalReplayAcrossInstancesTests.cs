using System.Net;
using Idempotency.AdminTests;
using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Tests.LocalReplay;

/// <summary>
/// Two instances of one service on one store: a delete on one reaches the other's local replay cache only when its
/// entry expires, and no later. The bound docs/local-replay-cache.md promises, measured on a fake clock.
/// </summary>
public sealed class LocalReplayAcrossInstancesTests
{
    private static readonly TimeSpan Expiration = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_record_deleted_on_another_instance_is_replayed_here_for_at_most_the_caches_expiration()
    {
        var time = new FakeTimeProvider();
        var store = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), time);
        await using var first = await StartAsync(store, time);
        await using var second = await StartAsync(store, time);
        var key = Guid.NewGuid().ToString("N");
        Assert.Equal(HttpStatusCode.Created, (await first.Client.SendAsync(AdminTestApp.Order("alice", key))).StatusCode);
        Assert.True((await first.Client.SendAsync(AdminTestApp.Order("alice", key))).Headers.Contains("Idempotent-Replayed"));
        time.Advance(TimeSpan.FromSeconds(1));

        var deleted = await second.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, $"/records?scope=sub:alice&key={key}"));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        // The first instance cached the record when the store answered its replay; until that entry expires it answers
        // from it, although the store holds nothing any more.
        time.Advance(Expiration - TimeSpan.FromSeconds(1) - TimeSpan.FromMilliseconds(1));
        var stale = await first.Client.SendAsync(AdminTestApp.Order("alice", key));
        Assert.True(stale.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, first.OrderExecutions);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var executed = await first.Client.SendAsync(AdminTestApp.Order("alice", key));
        Assert.Equal(HttpStatusCode.Created, executed.StatusCode);
        Assert.False(executed.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, first.OrderExecutions);
    }

    [Fact]
    public async Task The_instance_that_deletes_executes_the_next_request_at_once()
    {
        var time = new FakeTimeProvider();
        var store = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), time);
        await using var first = await StartAsync(store, time);
        await using var second = await StartAsync(store, time);
        var key = Guid.NewGuid().ToString("N");
        await first.Client.SendAsync(AdminTestApp.Order("alice", key));
        Assert.True((await second.Client.SendAsync(AdminTestApp.Order("alice", key))).Headers.Contains("Idempotent-Replayed"));

        var deleted = await second.Client.SendAsync(AdminTestApp.Admin(HttpMethod.Delete, $"/records?scope=sub:alice&key={key}"));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var executed = await second.Client.SendAsync(AdminTestApp.Order("alice", key));
        Assert.False(executed.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, second.OrderExecutions);
    }

    private static Task<AdminTestApp> StartAsync(InMemoryIdempotencyStore store, FakeTimeProvider time)
        => AdminTestApp.StartAsync(idempotency =>
        {
            idempotency.AddStore(_ => store);
            idempotency.Services.AddSingleton<TimeProvider>(time);
            idempotency.Services.Configure<IdempotencyOptions>(options =>
            {
                options.DefaultPolicy.UseLocalReplayCache = true;
                options.LocalReplayCache.Expiration = Expiration;
            });
        });
}
