using System.Net;
using System.Text.Json;
using Idempotency.OpenApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Idempotency.OpenApi.Tests.Infrastructure.OpenApiDocumentJson;

namespace Idempotency.OpenApi.Tests;

/// <summary>
/// The document and the middleware must pick the same policy for an endpoint: each endpoint below is read from the
/// document and then probed with requests the middleware answers before any store call.
/// </summary>
public sealed class PolicyAgreementTests
{
    /// <summary>What the policy of an endpoint asks of a request, as both the document and the middleware show it.</summary>
    public enum Governed
    {
        NotGoverned,
        KeyRequired,
        KeyOptional,
        SequenceRequired,
    }

    public static TheoryData<string, string, Governed> Endpoints => new()
    {
        // ApplyDefaultPolicyToUnsafeMethods: the default policy for POST and PATCH without metadata, nothing for others.
        { "POST", "/unsafe", Governed.KeyRequired },
        { "PATCH", "/unsafe", Governed.KeyRequired },
        { "PUT", "/unsafe", Governed.NotGoverned },
        { "DELETE", "/unsafe", Governed.NotGoverned },

        // DisableIdempotency wins over the global option and over a policy of the endpoint or its group.
        { "POST", "/disabled", Governed.NotGoverned },
        { "POST", "/disabled-with-policy", Governed.NotGoverned },
        { "POST", "/sequenced-group/disabled", Governed.NotGoverned },

        // Named policies, matched case-insensitively; the endpoint's own metadata follows its group's, so it wins.
        { "POST", "/optional", Governed.KeyOptional },
        { "POST", "/sequenced", Governed.SequenceRequired },
        { "POST", "/sequenced-group/inherited", Governed.SequenceRequired },
        { "POST", "/sequenced-group/overridden", Governed.KeyOptional },
        { "PUT", "/default-on-put", Governed.KeyRequired },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Document_and_middleware_apply_the_same_policy_to_an_endpoint(string method, string path, Governed expected)
    {
        await using var app = await OpenApiTestApp.StartAsync(Map, Configure);
        var document = await app.GetDocumentAsync();

        Assert.Equal(expected, Documented(document.Operation(method, path)));
        Assert.Equal(expected, await EnforcedAsync(app, method, path));
    }

    private static void Configure(IdempotencyOptions options)
    {
        options.ApplyDefaultPolicyToUnsafeMethods = true;
        options.AddPolicy("optional-key", p => p.KeyRequirement = KeyRequirement.Optional);
        options.AddPolicy("sequenced", p => p.SequenceRequirement = SequenceRequirement.Required);
    }

    private static void Map(WebApplication app)
    {
        app.MapPost("/unsafe", () => "post");
        app.MapPatch("/unsafe", () => "patch");
        app.MapPut("/unsafe", () => "put");
        app.MapDelete("/unsafe", () => "delete");
        app.MapPost("/disabled", () => "post").DisableIdempotency();
        app.MapPost("/disabled-with-policy", () => "post").RequireIdempotency("sequenced").DisableIdempotency();
        app.MapPost("/optional", () => "post").RequireIdempotency("OPTIONAL-KEY");
        app.MapPost("/sequenced", () => "post").RequireIdempotency("sequenced");
        app.MapPut("/default-on-put", () => "put").RequireIdempotency();

        var group = app.MapGroup("/sequenced-group").RequireIdempotency("sequenced");
        group.MapPost("/inherited", () => "post");
        group.MapPost("/overridden", () => "post").RequireIdempotency("optional-key");
        group.MapPost("/disabled", () => "post").DisableIdempotency();
    }

    private static Governed Documented(JsonElement operation)
    {
        var headers = HeaderParameters(operation);
        if (!headers.TryGetValue("Idempotency-Key", out var key))
        {
            return Governed.NotGoverned;
        }

        if (headers.TryGetValue("Sequence-Number", out var number) && IsRequired(number))
        {
            return Governed.SequenceRequired;
        }

        return IsRequired(key) ? Governed.KeyRequired : Governed.KeyOptional;
    }

    /// <summary>
    /// A malformed key tells governed endpoints from the others (only the middleware refuses it; a policy that requires
    /// sequence numbers asks for the missing one first); a request without any header then tells what the policy requires.
    /// </summary>
    private static async Task<Governed> EnforcedAsync(OpenApiTestApp app, string method, string path)
    {
        using var client = app.CreateClient();

        using var malformed = new HttpRequestMessage(new HttpMethod(method), path);
        malformed.Headers.TryAddWithoutValidation("Idempotency-Key", "a,b");
        using var malformedResponse = await client.SendAsync(malformed);
        if (malformedResponse.StatusCode == HttpStatusCode.OK)
        {
            return Governed.NotGoverned;
        }

        if (malformedResponse.StatusCode == HttpStatusCode.PreconditionRequired)
        {
            Assert.Equal("urn:idempotency:sequence-number-missing", await ProblemTypeAsync(malformedResponse));
            return Governed.SequenceRequired;
        }

        Assert.Equal(HttpStatusCode.BadRequest, malformedResponse.StatusCode);
        Assert.Equal("urn:idempotency:idempotency-key-invalid", await ProblemTypeAsync(malformedResponse));

        using var bare = new HttpRequestMessage(new HttpMethod(method), path);
        using var bareResponse = await client.SendAsync(bare);
        if (bareResponse.StatusCode == HttpStatusCode.OK)
        {
            return Governed.KeyOptional;
        }

        Assert.Equal(HttpStatusCode.BadRequest, bareResponse.StatusCode);
        Assert.Equal("urn:idempotency:idempotency-key-missing", await ProblemTypeAsync(bareResponse));
        return Governed.KeyRequired;
    }

    private static async Task<string?> ProblemTypeAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("type").GetString();
    }
}
