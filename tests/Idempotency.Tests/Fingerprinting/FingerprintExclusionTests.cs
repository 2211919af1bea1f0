using System.Net;
using Idempotency.Testing;
using Idempotency.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Idempotency.Tests.Fingerprinting;

/// <summary>JSON members left out of the fingerprint: a regenerated timestamp is a retry, a changed amount is not.</summary>
public sealed class FingerprintExclusionTests
{
    private static Task<TestApp> StartAsync(int maxCanonicalJsonBytes = 1024 * 1024)
        => TestApp.StartAsync(
            options => options.AddPolicy("excluding", p =>
            {
                p.CanonicalJsonFingerprint = true;
                p.MaxCanonicalJsonBytes = maxCanonicalJsonBytes;
                p.FingerprintExcludedJsonMembers.Add("/sentAt");
                p.FingerprintExcludedJsonMembers.Add("/meta/timestamp");
                p.FingerprintExcludedJsonMembers.Add("/lines/0/trace");
            }),
            map: static app => app.MapPost("/excluding", (TestApp.Endpoints endpoints) => Results.Text($"execution {endpoints.Count("excluding")}"))
                .RequireIdempotency("excluding"));

    [Fact]
    public async Task A_retry_whose_client_regenerated_an_excluded_timestamp_is_replayed()
    {
        await using var app = await StartAsync();

        await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"amount\":100,\"sentAt\":\"2026-01-01T00:00:00Z\",\"meta\":{\"timestamp\":1}}"));
        var retry = await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"meta\":{\"timestamp\":2},\"sentAt\":\"2026-01-01T00:00:09Z\",\"amount\":100}"));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("execution 1", await retry.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_excluded_member_inside_an_array_element_is_left_out_and_its_neighbours_are_not()
    {
        await using var app = await StartAsync();

        await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"lines\":[{\"sku\":\"a\",\"trace\":1},{\"sku\":\"b\",\"trace\":1}]}"));
        var retry = await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"lines\":[{\"sku\":\"a\",\"trace\":2},{\"sku\":\"b\",\"trace\":1}]}"));
        var secondChanged = await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"lines\":[{\"sku\":\"a\",\"trace\":1},{\"sku\":\"b\",\"trace\":2}]}"));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        await ProblemAssert.IsProblemAsync(secondChanged, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task A_retry_with_a_changed_amount_is_still_422()
    {
        await using var app = await StartAsync();

        await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"amount\":100,\"sentAt\":\"a\"}"));
        var changed = await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"amount\":101,\"sentAt\":\"b\"}"));

        await ProblemAssert.IsProblemAsync(changed, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task A_member_named_like_an_excluded_one_in_another_case_still_counts()
    {
        await using var app = await StartAsync();

        await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"amount\":100,\"SentAt\":\"a\"}"));
        var changed = await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", "{\"amount\":100,\"SentAt\":\"b\"}"));

        await ProblemAssert.IsProblemAsync(changed, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task A_body_over_the_canonical_bound_is_hashed_whole_so_a_changed_excluded_member_is_422_never_a_replay()
    {
        await using var app = await StartAsync(maxCanonicalJsonBytes: 32);
        var padding = new string('x', 64);

        await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", $"{{\"amount\":100,\"pad\":\"{padding}\",\"sentAt\":\"a\"}}"));
        var changed = await app.Client.SendAsync(TestApp.Post("/excluding", "k-1", $"{{\"amount\":100,\"pad\":\"{padding}\",\"sentAt\":\"b\"}}"));

        await ProblemAssert.IsProblemAsync(changed, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task Exclusions_without_the_canonical_form_fail_at_start_up_by_name()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            options => options.AddPolicy("p", p => p.FingerprintExcludedJsonMembers.Add("/sentAt"))));

        Assert.Contains(error.Failures, f => f.Contains("Policy 'p': FingerprintExcludedJsonMembers requires CanonicalJsonFingerprint", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sentAt")]
    [InlineData("")]
    [InlineData("/bad~escape")]
    public async Task An_invalid_pointer_fails_at_start_up_by_name(string pointer)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            options => options.AddPolicy("p", p =>
            {
                p.CanonicalJsonFingerprint = true;
                p.FingerprintExcludedJsonMembers.Add(pointer);
            })));

        Assert.Contains(error.Failures, f => f.Contains($"Policy 'p': FingerprintExcludedJsonMembers holds '{pointer}'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Exclusions_with_the_body_left_out_of_the_fingerprint_fail_at_start_up()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            options => options.AddPolicy("p", p =>
            {
                p.CanonicalJsonFingerprint = true;
                p.FingerprintComponents = FingerprintComponents.Method | FingerprintComponents.Path;
                p.FingerprintExcludedJsonMembers.Add("/sentAt");
            })));

        Assert.Contains(error.Failures, f => f.Contains("Policy 'p': FingerprintExcludedJsonMembers is set but FingerprintComponents", StringComparison.Ordinal));
    }
}
