using System.Collections.Concurrent;
using System.Net;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.Tests.Middleware;

public sealed class IdempotencyFeatureTests
{
    [Fact]
    public async Task A_keyed_handler_sees_its_key_unquoted_scope_and_policy_and_that_it_executes()
    {
        await using var probe = await FeatureProbe.StartAsync();

        var response = await probe.App.Client.SendAsync(TestApp.Post("/feature", "\"key-1\"", user: "alice"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(probe.SeenByHandler);
        Assert.Equal(IdempotencyOptions.DefaultPolicyName, seen.PolicyName);
        Assert.Equal("key-1", seen.Key);
        Assert.Equal("alice", seen.Scope);
        Assert.Null(seen.SequenceStream);
        Assert.Null(seen.SequenceNumber);
        Assert.Null(seen.SequenceEpoch);
        Assert.False(seen.IsReplay);
        Assert.Equal(IdempotencyOutcome.Executed, seen.Outcome);
    }

    [Fact]
    public async Task An_anonymous_caller_has_the_anonymous_scope_and_a_custom_resolver_its_own_name()
    {
        await using var probe = await FeatureProbe.StartAsync(options => options.AddPolicy("tenant", p => p.ScopeResolver = static _ => ValueTask.FromResult("tenant-7")));

        await probe.App.Client.SendAsync(TestApp.Post("/feature", "key-1"));
        await probe.App.Client.SendAsync(TestApp.Post("/feature-tenant", "key-1"));

        Assert.Equal(["anonymous", "tenant-7"], probe.SeenByHandler.Select(static seen => seen.Scope));
        Assert.Equal("tenant", probe.SeenByHandler[1].PolicyName);
    }

    [Fact]
    public async Task A_replayed_response_has_a_feature_that_says_replay()
    {
        await using var probe = await FeatureProbe.StartAsync();
        await probe.App.Client.SendAsync(TestApp.Post("/feature", "key-1", user: "alice"));

        var replay = await probe.App.Client.SendAsync(TestApp.Post("/feature", "key-1", user: "alice"));

        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(probe.SeenByHandler);
        var after = probe.SeenAfter[^1];
        Assert.True(after.IsReplay);
        Assert.Equal(IdempotencyOutcome.Replayed, after.Outcome);
        Assert.Equal("key-1", after.Key);
        Assert.Equal("alice", after.Scope);
    }

    [Fact]
    public async Task A_sequenced_handler_sees_stream_number_and_epoch()
    {
        await using var probe = await FeatureProbe.StartAsync();

        await probe.App.Client.SendAsync(TestApp.Sequenced("/feature-seq", 1, epoch: 2, stream: "orders", key: "key-9"));
        await probe.App.Client.SendAsync(TestApp.Sequenced("/feature-seq", 1));
        await probe.App.Client.SendAsync(TestApp.Sequenced("/accounts/acc-1/feature-seq", 1));

        var named = probe.SeenByHandler[0];
        Assert.Equal("sequence", named.PolicyName);
        Assert.Equal("orders", named.SequenceStream);
        Assert.Equal(1, named.SequenceNumber);
        Assert.Equal(2, named.SequenceEpoch);
        Assert.Equal("key-9", named.Key);
        Assert.Equal(IdempotencyOutcome.Executed, named.Outcome);

        var defaults = probe.SeenByHandler[1];
        Assert.Equal("default", defaults.SequenceStream);
        Assert.Equal(0, defaults.SequenceEpoch);
        Assert.Null(defaults.Key);

        Assert.Equal("acc-1", probe.SeenByHandler[2].SequenceStream);
    }

    [Fact]
    public async Task A_rejected_request_leaves_a_feature_with_its_outcome()
    {
        await using var probe = await FeatureProbe.StartAsync();
        await probe.App.Client.SendAsync(TestApp.Post("/feature", "key-1", body: "{\"amount\":1}"));

        var reused = await probe.App.Client.SendAsync(TestApp.Post("/feature", "key-1", body: "{\"amount\":2}"));
        var missing = await probe.App.Client.SendAsync(TestApp.Post("/feature", key: null));
        var invalid = await probe.App.Client.SendAsync(TestApp.Post("/feature", "\"unterminated"));
        var gap = await probe.App.Client.SendAsync(TestApp.Sequenced("/feature-seq", 5));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, gap.StatusCode);
        Assert.Single(probe.SeenByHandler);
        var (reusedFeature, missingFeature, invalidFeature, gapFeature) = (probe.SeenAfter[1], probe.SeenAfter[2], probe.SeenAfter[3], probe.SeenAfter[4]);
        Assert.Equal(IdempotencyOutcome.Mismatch, reusedFeature.Outcome);
        Assert.Equal("key-1", reusedFeature.Key);
        Assert.False(reusedFeature.IsReplay);
        Assert.Equal(IdempotencyOutcome.MissingKey, missingFeature.Outcome);
        Assert.Null(missingFeature.Key);
        Assert.Equal(IdempotencyOutcome.Invalid, invalidFeature.Outcome);
        Assert.Null(invalidFeature.Key);
        Assert.Null(invalidFeature.Scope);
        Assert.Equal(IdempotencyOutcome.SequenceGap, gapFeature.Outcome);
        Assert.Equal(5, gapFeature.SequenceNumber);
    }

    [Fact]
    public async Task An_optional_key_request_without_a_key_runs_as_pass_through_and_an_endpoint_without_a_policy_has_no_feature()
    {
        await using var probe = await FeatureProbe.StartAsync();

        await probe.App.Client.SendAsync(TestApp.Post("/feature-optional", key: null));
        var plain = await probe.App.Client.SendAsync(TestApp.Post("/feature-plain", key: null));

        var passThrough = Assert.Single(probe.SeenByHandler);
        Assert.Equal(IdempotencyOutcome.PassThrough, passThrough.Outcome);
        Assert.Null(passThrough.Key);
        Assert.Equal("no feature", await plain.Content.ReadAsStringAsync());
    }

    /// <summary>A test app whose endpoints record the feature their handler sees, and a middleware in front of idempotency that records it after the response.</summary>
    private sealed class FeatureProbe : IAsyncDisposable
    {
        private readonly ConcurrentQueue<IIdempotencyFeature> _seenByHandler = new();
        private readonly ConcurrentQueue<IIdempotencyFeature> _seenAfter = new();

        private FeatureProbe()
        {
        }

        public TestApp App { get; private set; } = null!;

        public IIdempotencyFeature[] SeenByHandler => [.. _seenByHandler];

        public IIdempotencyFeature[] SeenAfter => [.. _seenAfter];

        public static async Task<FeatureProbe> StartAsync(Action<IdempotencyOptions>? configure = null)
        {
            var probe = new FeatureProbe();
            probe.App = await TestApp.StartAsync(
                configure,
                map: app =>
                {
                    IResult Handle(HttpContext context)
                    {
                        var feature = context.Features.Get<IIdempotencyFeature>();
                        if (feature is null)
                        {
                            return Results.Text("no feature");
                        }

                        probe._seenByHandler.Enqueue(feature);
                        return Results.Text("ok");
                    }

                    app.MapPost("/feature", Handle).RequireIdempotency();
                    app.MapPost("/feature-tenant", Handle).RequireIdempotency("tenant");
                    app.MapPost("/feature-optional", Handle).RequireIdempotency("optional");
                    app.MapPost("/feature-seq", Handle).RequireIdempotency("sequence");
                    app.MapPost("/accounts/{account}/feature-seq", Handle).RequireIdempotency("sequence-route");
                    app.MapPost("/feature-plain", Handle);
                },
                beforeIdempotency: app => app.Use(async (context, next) =>
                {
                    await next(context);
                    if (context.Features.Get<IIdempotencyFeature>() is { } feature)
                    {
                        probe._seenAfter.Enqueue(feature);
                    }
                }));
            return probe;
        }

        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
