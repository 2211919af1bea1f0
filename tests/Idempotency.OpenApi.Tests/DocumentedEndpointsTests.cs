using Idempotency.OpenApi.Tests.Infrastructure;
using static Idempotency.OpenApi.Tests.Infrastructure.OpenApiDocumentJson;

namespace Idempotency.OpenApi.Tests;

/// <summary>Reads one document, of <see cref="DocumentedApi"/>, and a baseline served without the transformer.</summary>
public sealed class DocumentFixture : IAsyncLifetime
{
    public OpenApiDocumentJson Document { get; private set; } = null!;

    public OpenApiDocumentJson Baseline { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await using (var app = await OpenApiTestApp.StartAsync(DocumentedApi.Map, DocumentedApi.Configure, DocumentedApi.AddServices))
        {
            Document = await app.GetDocumentAsync();
        }

        await using (var app = await OpenApiTestApp.StartAsync(DocumentedApi.Map, DocumentedApi.Configure, DocumentedApi.AddServices, documentIdempotency: false))
        {
            Baseline = await app.GetDocumentAsync();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

public sealed class DocumentedEndpointsTests(DocumentFixture fixture) : IClassFixture<DocumentFixture>
{
    private const string ProblemJson = "application/problem+json";

    private OpenApiDocumentJson Document => fixture.Document;

    [Fact]
    public void Required_key_policy_documents_a_required_Idempotency_Key_with_its_syntax_and_max_length()
    {
        var key = Header(Document.Operation("POST", "/payments"), "Idempotency-Key");

        Assert.True(IsRequired(key));
        Assert.Equal("string", key.GetProperty("schema").GetProperty("type").GetString());
        var description = key.GetProperty("description").GetString()!;
        Assert.Contains("RFC 8941", description, StringComparison.Ordinal);
        Assert.Contains("1 to 255 characters", description, StringComparison.Ordinal);
        Assert.Contains("same key with every retry", description, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_mode_endpoint_has_no_sequence_headers()
    {
        var headers = HeaderParameters(Document.Operation("POST", "/payments"));

        Assert.Equal(["Idempotency-Key"], headers.Keys);
    }

    [Fact]
    public void Required_key_policy_documents_the_400_409_422_429_and_503_problems_and_no_428()
    {
        var operation = Document.Operation("POST", "/payments");

        Assert.Equal(["201", "400", "409", "422", "429", "503"], Statuses(operation).Order());
        Assert.Equal(
            ["urn:idempotency:idempotency-key-missing", "urn:idempotency:idempotency-key-invalid", "urn:idempotency:request-body-invalid"],
            ProblemTypes(Response(operation, 400)));
        Assert.Equal(["urn:idempotency:idempotency-request-in-flight", "urn:idempotency:idempotency-response-not-replayable"], ProblemTypes(Response(operation, 409)));
        Assert.Equal(["urn:idempotency:idempotency-key-reused"], ProblemTypes(Response(operation, 422)));
        Assert.Equal(["urn:idempotency:idempotency-quota-exceeded"], ProblemTypes(Response(operation, 429)));
        Assert.Equal(["urn:idempotency:idempotency-store-unavailable", "urn:idempotency:idempotency-store-full"], ProblemTypes(Response(operation, 503)));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(409)]
    [InlineData(422)]
    [InlineData(429)]
    [InlineData(503)]
    public void Problem_responses_are_problem_json_with_the_ProblemDetails_schema(int status)
    {
        var response = Response(Document.Operation("POST", "/payments"), status);

        var content = Assert.Single(response.GetProperty("content").EnumerateObject());
        Assert.Equal(ProblemJson, content.Name);
        Assert.Equal("#/components/schemas/ProblemDetails", content.Value.GetProperty("schema").GetProperty("$ref").GetString());
        Assert.True(Document.Root.GetProperty("components").GetProperty("schemas").TryGetProperty("ProblemDetails", out _));
    }

    [Fact]
    public void In_flight_quota_and_store_responses_document_Retry_After()
    {
        var operation = Document.Operation("POST", "/payments");

        Assert.True(HasResponseHeader(Response(operation, 409), "Retry-After"));
        Assert.True(HasResponseHeader(Response(operation, 429), "Retry-After"));
        Assert.True(HasResponseHeader(Response(operation, 503), "Retry-After"));
        Assert.False(HasResponseHeader(Response(operation, 422), "Retry-After"));
    }

    [Fact]
    public void Success_responses_document_Idempotent_Replayed_and_problems_do_not()
    {
        var operation = Document.Operation("POST", "/payments");

        var replayed = Response(operation, 201).GetProperty("headers").GetProperty("Idempotent-Replayed");
        Assert.Equal("true", Assert.Single(replayed.GetProperty("schema").GetProperty("enum").EnumerateArray()).GetString());
        Assert.False(HasResponseHeader(Response(operation, 409), "Idempotent-Replayed"));
        Assert.True(HasResponseHeader(Response(Document.Operation("POST", "/events"), 202), "Idempotent-Replayed"));
        Assert.True(HasResponseHeader(Response(Document.Operation("POST", "/fail-open"), 204), "Idempotent-Replayed"));
    }

    [Fact]
    public void Optional_key_policy_documents_an_optional_key_and_no_key_missing_problem()
    {
        var operation = Document.Operation("POST", "/drafts");

        var key = Header(operation, "Idempotency-Key");
        Assert.False(IsRequired(key));
        Assert.Contains("runs unprotected", key.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(["urn:idempotency:idempotency-key-invalid", "urn:idempotency:request-body-invalid"], ProblemTypes(Response(operation, 400)));
        Assert.Equal(["200", "400", "409", "422", "429", "503"], Statuses(operation).Order());
    }

    [Fact]
    public void Required_sequence_with_a_route_stream_documents_a_required_Sequence_Number_and_Epoch_but_no_Stream()
    {
        var headers = HeaderParameters(Document.Operation("POST", "/accounts/{accountId}/transfers"));

        Assert.Equal(["Idempotency-Key", "Sequence-Number", "Sequence-Epoch"], headers.Keys);
        Assert.True(IsRequired(headers["Sequence-Number"]));
        Assert.Equal("integer", headers["Sequence-Number"].GetProperty("schema").GetProperty("type").GetString());
        Assert.Equal(1, headers["Sequence-Number"].GetProperty("schema").GetProperty("minimum").GetInt64());
        Assert.Contains("The endpoint chooses the stream", headers["Sequence-Number"].GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.False(IsRequired(headers["Sequence-Epoch"]));
        Assert.Equal(0, headers["Sequence-Epoch"].GetProperty("schema").GetProperty("minimum").GetInt64());

        // The sequence number deduplicates; a key is accepted and joins the fingerprint, but is never required.
        Assert.False(IsRequired(headers["Idempotency-Key"]));
    }

    [Fact]
    public void Required_sequence_documents_428_and_the_sequence_problems()
    {
        var operation = Document.Operation("POST", "/accounts/{accountId}/transfers");

        Assert.Equal(["201", "400", "409", "422", "428", "429", "503"], Statuses(operation).Order());
        Assert.Equal(
            [
                "urn:idempotency:idempotency-key-invalid",
                "urn:idempotency:sequence-number-invalid",
                "urn:idempotency:sequence-stream-invalid",
                "urn:idempotency:request-body-invalid",
            ],
            ProblemTypes(Response(operation, 400)));
        Assert.Equal(
            [
                "urn:idempotency:idempotency-request-in-flight",
                "urn:idempotency:idempotency-response-not-replayable",
                "urn:idempotency:sequence-epoch-fenced",
                "urn:idempotency:sequence-already-applied",
                "urn:idempotency:sequence-gap",
            ],
            ProblemTypes(Response(operation, 409)));
        Assert.Equal(["urn:idempotency:sequence-number-missing"], ProblemTypes(Response(operation, 428)));
        Assert.Equal(ProblemJson, Assert.Single(Response(operation, 428).GetProperty("content").EnumerateObject()).Name);
    }

    [Fact]
    public void Optional_sequence_without_a_stream_resolver_documents_optional_Sequence_Number_Stream_and_Epoch_and_no_428()
    {
        var operation = Document.Operation("POST", "/events");
        var headers = HeaderParameters(operation);

        Assert.Equal(["Idempotency-Key", "Sequence-Number", "Sequence-Stream", "Sequence-Epoch"], headers.Keys);
        Assert.All(headers.Values, header => Assert.False(IsRequired(header)));
        Assert.Equal(128, headers["Sequence-Stream"].GetProperty("schema").GetProperty("maxLength").GetInt32());
        Assert.Contains("Required unless the request carries `Sequence-Number`", headers["Idempotency-Key"].GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("428", Statuses(operation));
        Assert.Contains("urn:idempotency:idempotency-key-missing", ProblemTypes(Response(operation, 400)));
        Assert.Contains("urn:idempotency:sequence-gap", ProblemTypes(Response(operation, 409)));
    }

    [Fact]
    public void Fail_open_policy_documents_store_full_but_not_store_unavailable()
    {
        var operation = Document.Operation("POST", "/fail-open");

        // Fail-open covers an unreachable store only: a full store or a scope at its quota is refused under any policy.
        Assert.Equal(["204", "400", "409", "422", "429", "503"], Statuses(operation).Order());
        Assert.Equal(["urn:idempotency:idempotency-store-full"], ProblemTypes(Response(operation, 503)));
    }

    [Fact]
    public void Route_group_requirement_is_documented_on_its_endpoints()
    {
        var operation = Document.Operation("POST", "/group/protected");

        Assert.True(IsRequired(Header(operation, "Idempotency-Key")));
        Assert.Contains("422", Statuses(operation));
    }

    [Fact]
    public void Responses_and_header_parameters_the_endpoint_documents_itself_are_kept()
    {
        var operation = Document.Operation("POST", "/documented");
        var baseline = fixture.Baseline.Operation("POST", "/documented");

        Assert.Equal(Raw(Response(baseline, 400)), Raw(Response(operation, 400)));
        Assert.Equal(Raw(Response(baseline, 409)), Raw(Response(operation, 409)));
        Assert.Equal(Raw(Header(baseline, "Idempotency-Key")), Raw(Header(operation, "Idempotency-Key")));
        Assert.Equal(["200", "400", "409", "422", "429", "503"], Statuses(operation).Order());
    }

    [Fact]
    public void Controller_attributes_are_documented_with_the_action_overriding_the_class()
    {
        var create = Document.Operation("POST", "/orders");
        var draft = Document.Operation("POST", "/orders/draft");

        Assert.True(IsRequired(Header(create, "Idempotency-Key")));
        Assert.False(IsRequired(Header(draft, "Idempotency-Key")));
        Assert.Contains("422", Statuses(draft));
    }

    [Fact]
    public void Operations_without_a_policy_are_exactly_as_without_the_transformer()
    {
        foreach (var (method, path) in DocumentedApi.UntouchedOperations)
        {
            Assert.Equal(Raw(fixture.Baseline.Operation(method, path)), Raw(Document.Operation(method, path)));
            Assert.Empty(HeaderParameters(Document.Operation(method, path)));
        }
    }

    [Fact]
    public void Every_path_of_the_baseline_is_still_documented()
    {
        var paths = Document.Root.GetProperty("paths").EnumerateObject().Select(static p => p.Name);
        var baseline = fixture.Baseline.Root.GetProperty("paths").EnumerateObject().Select(static p => p.Name);

        Assert.Equal(baseline.Order(), paths.Order());
    }
}
