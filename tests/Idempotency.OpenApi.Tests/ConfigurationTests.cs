using System.Net;
using System.Net.Http.Json;
using Idempotency.OpenApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using static Idempotency.OpenApi.Tests.Infrastructure.OpenApiDocumentJson;

namespace Idempotency.OpenApi.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task Configured_header_names_max_key_length_and_problem_type_base_are_documented()
    {
        var document = await OpenApiTestApp.DocumentOfAsync(
            app => app.MapPost("/streams", () => "ok").RequireIdempotency("sequence"),
            options =>
            {
                options.KeyHeaderName = "X-Request-Key";
                options.SequenceNumberHeaderName = "X-Seq";
                options.SequenceStreamHeaderName = "X-Seq-Stream";
                options.SequenceEpochHeaderName = "X-Seq-Epoch";
                options.ReplayedHeaderName = "X-Replayed";
                options.MaxKeyLength = 64;
                options.ProblemTypeBaseUri = "https://errors.example.com/";
                options.AddPolicy("sequence", p => p.SequenceRequirement = SequenceRequirement.Optional);
            });
        var operation = document.Operation("POST", "/streams");

        var headers = HeaderParameters(operation);
        Assert.Equal(["X-Request-Key", "X-Seq", "X-Seq-Stream", "X-Seq-Epoch"], headers.Keys);
        Assert.Contains("1 to 64 characters", headers["X-Request-Key"].GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("`X-Seq-Stream`", headers["X-Seq"].GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(HasResponseHeader(Response(operation, 200), "X-Replayed"));
        Assert.False(HasResponseHeader(Response(operation, 200), "Idempotent-Replayed"));
        Assert.Equal(
            [
                "https://errors.example.com/idempotency-key-missing",
                "https://errors.example.com/idempotency-key-invalid",
                "https://errors.example.com/sequence-number-invalid",
                "https://errors.example.com/request-body-invalid",
            ],
            ProblemTypes(Response(operation, 400)));
        Assert.Contains("`X-Seq`, `X-Seq-Epoch` or `X-Seq-Stream`", Response(operation, 400).GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_key_header_is_documented_in_place_of_the_options_header()
    {
        var document = await OpenApiTestApp.DocumentOfAsync(
            app => app.MapPost("/legacy", () => "ok").RequireIdempotency("legacy"),
            options => options.AddPolicy("legacy", p => p.KeyHeaderName = "X-Request-Id"));
        var operation = document.Operation("POST", "/legacy");

        Assert.Equal(["X-Request-Id"], HeaderParameters(operation).Keys);
        Assert.Contains("`X-Request-Id`", Response(operation, 400).GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_with_a_key_resolver_documents_no_key_header_and_the_body_problem()
    {
        var document = await OpenApiTestApp.DocumentOfAsync(
            app => app.MapPost("/orders/{orderId}", (string orderId) => orderId).RequireIdempotency("route-key"),
            options => options.AddPolicy("route-key", p =>
            {
                p.KeyResolver = IdempotencyKeyResolvers.FromRouteValue("orderId");
                p.FingerprintComponents = FingerprintComponents.Method | FingerprintComponents.Path;
            }));
        var operation = document.Operation("POST", "/orders/{orderId}");

        Assert.Empty(HeaderParameters(operation));
        var badRequest = Response(operation, 400);
        Assert.Equal(
            ["urn:idempotency:idempotency-key-missing", "urn:idempotency:idempotency-key-invalid", "urn:idempotency:request-body-invalid"],
            ProblemTypes(badRequest));
        Assert.DoesNotContain("Idempotency-Key", badRequest.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_whose_fingerprint_leaves_out_the_body_documents_no_request_body_problem()
    {
        var document = await OpenApiTestApp.DocumentOfAsync(
            app => app.MapPost("/headers-only", () => "ok").RequireIdempotency("headers-only"),
            options => options.AddPolicy("headers-only", p => p.FingerprintComponents = FingerprintComponents.Method | FingerprintComponents.Path));

        Assert.Equal(
            ["urn:idempotency:idempotency-key-missing", "urn:idempotency:idempotency-key-invalid"],
            ProblemTypes(Response(document.Operation("POST", "/headers-only"), 400)));
    }

    [Fact]
    public async Task Default_policy_for_unsafe_methods_documents_post_and_patch_but_not_get_put_or_disabled()
    {
        var document = await OpenApiTestApp.DocumentOfAsync(
            app =>
            {
                app.MapPost("/global", () => "post");
                app.MapPatch("/global", () => "patch");
                app.MapGet("/global", () => "get");
                app.MapPut("/global", () => "put");
                app.MapPost("/opted-out", () => "post").DisableIdempotency();
            },
            options => options.ApplyDefaultPolicyToUnsafeMethods = true);

        Assert.True(IsRequired(Header(document.Operation("POST", "/global"), "Idempotency-Key")));
        Assert.True(IsRequired(Header(document.Operation("PATCH", "/global"), "Idempotency-Key")));
        Assert.Empty(HeaderParameters(document.Operation("GET", "/global")));
        Assert.Empty(HeaderParameters(document.Operation("PUT", "/global")));
        Assert.Empty(HeaderParameters(document.Operation("POST", "/opted-out")));
    }

    [Fact]
    public async Task Without_the_global_option_post_endpoints_without_metadata_are_not_documented()
    {
        var document = await OpenApiTestApp.DocumentOfAsync(app => app.MapPost("/global", () => "post"));

        var operation = document.Operation("POST", "/global");
        Assert.Empty(HeaderParameters(operation));
        Assert.Equal(["200"], Statuses(operation));
    }

    [Fact]
    public async Task Controllers_made_idempotent_by_a_MapControllers_convention_are_documented_as_the_middleware_sees_them()
    {
        await using var app = await OpenApiTestApp.StartAsync(
            app => app.MapControllers().RequireIdempotency("transfers"),
            DocumentedApi.Configure,
            DocumentedApi.AddServices);
        var document = await app.GetDocumentAsync();

        // The convention's metadata follows the attributes, so it is the policy the middleware applies, here too.
        Assert.True(IsRequired(Header(document.Operation("POST", "/refunds"), "Sequence-Number")));
        Assert.True(IsRequired(Header(document.Operation("POST", "/orders/draft"), "Sequence-Number")));
        Assert.Empty(HeaderParameters(document.Operation("POST", "/refunds/preview")));
        Assert.Empty(HeaderParameters(document.Operation("POST", "/orders/import")));

        // And the middleware agrees: without a sequence number the request is refused before any store call.
        using var client = app.CreateClient();
        using var response = await client.PostAsync("/orders/draft", JsonContent.Create(new PaymentRequest(100)));
        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
    }

    [Fact]
    public async Task Default_policy_settings_are_read_from_the_options()
    {
        var document = await OpenApiTestApp.DocumentOfAsync(
            app => app.MapPost("/items", () => "ok").RequireIdempotency(),
            options => options.DefaultPolicy.KeyRequirement = KeyRequirement.Optional);

        Assert.False(IsRequired(Header(document.Operation("POST", "/items"), "Idempotency-Key")));
    }

    [Fact]
    public async Task Policy_names_are_matched_case_insensitively_as_by_the_middleware()
    {
        var document = await OpenApiTestApp.DocumentOfAsync(
            app => app.MapPost("/items", () => "ok").RequireIdempotency("PAYMENTS"),
            options => options.AddPolicy("payments", p => p.SequenceRequirement = SequenceRequirement.Required));

        Assert.True(IsRequired(Header(document.Operation("POST", "/items"), "Sequence-Number")));
    }

    [Fact]
    public async Task Endpoint_naming_a_policy_that_was_never_added_fails_the_document_naming_the_policy()
    {
        await using var app = await OpenApiTestApp.StartAsync(app => app.MapPost("/items", () => "ok").RequireIdempotency("missing"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(app.GetDocumentAsync);

        Assert.Contains("'missing'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddIdempotency_returns_the_options_and_rejects_null()
    {
        var options = new OpenApiOptions();

        Assert.Same(options, options.AddIdempotency());
        Assert.Throws<ArgumentNullException>(() => ((OpenApiOptions)null!).AddIdempotency());
    }
}
