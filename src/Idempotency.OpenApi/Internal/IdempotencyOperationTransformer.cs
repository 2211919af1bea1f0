using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Idempotency.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Idempotency.OpenApi.Internal;

/// <summary>
/// Adds to each operation the middleware governs its idempotency headers, its problem responses and the replay
/// marker of its success responses. One instance serves every document; its only state is a cache of MVC endpoints' metadata.
/// </summary>
/// <remarks>
/// The policy comes from the middleware's own <see cref="IdempotencyPolicyResolver"/> and everything documented about
/// it from the <see cref="ResolvedPolicy"/> the middleware runs with, so the document cannot drift from the behaviour.
/// </remarks>
internal sealed class IdempotencyOperationTransformer : IOpenApiOperationTransformer
{
    public static readonly IdempotencyOperationTransformer Instance = new();

    private const string ProblemContentType = "application/problem+json";
    private const string RetryAfterHeaderName = "Retry-After";
    private const string ProblemSchemaId = "ProblemDetails";

    private readonly EndpointMetadataLookup _metadata = new();

    private IdempotencyOperationTransformer()
    {
    }

    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        // Both are registered by AddIdempotency; without it no endpoint is governed.
        var resolver = context.ApplicationServices.GetService<IdempotencyPolicyResolver>();
        var options = context.ApplicationServices.GetService<IOptions<IdempotencyOptions>>()?.Value;
        if (resolver is null || options is null)
        {
            return;
        }

        var description = context.Description;
        var metadata = _metadata.For(description, context.ApplicationServices);
        var policy = resolver.Resolve(metadata, description.HttpMethod, description.ActionDescriptor.DisplayName ?? description.RelativePath);
        if (policy is null)
        {
            return;
        }

        AddRequestHeaders(operation, policy, options);
        MarkReplayableResponses(operation, options);
        var problemSchema = await ProblemSchemaAsync(context, cancellationToken).ConfigureAwait(false);
        AddProblemResponses(operation, policy, options, problemSchema);
    }

    private static async Task<IOpenApiSchema> ProblemSchemaAsync(OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var document = context.Document;
        if (document?.Components?.Schemas?.ContainsKey(ProblemSchemaId) == true)
        {
            return new OpenApiSchemaReference(ProblemSchemaId, document);
        }

        var schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), parameterDescription: null, cancellationToken).ConfigureAwait(false);
        if (document is null)
        {
            return schema;
        }

        // One component for every problem response. ASP.NET Core names the schema of ProblemDetails the same way, so an
        // endpoint that documents problems of its own (ProducesProblem) shares it.
        document.AddComponent(ProblemSchemaId, schema);
        return new OpenApiSchemaReference(ProblemSchemaId, document);
    }

    /// <summary>
    /// The header named in the policy's key problems: its own key header, or the options' one when a resolver finds the
    /// key elsewhere (those problems then do not name a header).
    /// </summary>
    private static string KeyHeaderName(ResolvedPolicy policy, IdempotencyOptions options) => policy.Key.HeaderName ?? options.KeyHeaderName;

    private static void AddRequestHeaders(OpenApiOperation operation, ResolvedPolicy policy, IdempotencyOptions options)
    {
        var parameters = operation.Parameters ??= [];
        var sequence = policy.Sequence;

        // A policy with a key resolver takes its key from the request itself (a route value, a body member), which the
        // operation documents already; its header, if it reads one, is its own affair.
        if (policy.Key.HeaderName is { } keyHeaderName)
        {
            AddHeader(parameters, new OpenApiParameter
            {
                Name = keyHeaderName,
                In = ParameterLocation.Header,
                Required = policy.KeyRequired && sequence == SequenceRequirement.Off,
                Description = KeyDescription(policy, options),
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1 },
                Example = JsonValue.Create("\"order-1001\""),
            });
        }

        if (sequence == SequenceRequirement.Off)
        {
            return;
        }

        AddHeader(parameters, new OpenApiParameter
        {
            Name = options.SequenceNumberHeaderName,
            In = ParameterLocation.Header,
            Required = sequence == SequenceRequirement.Required,
            Description = SequenceNumberDescription(policy, options),
            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "1" },
            Example = JsonValue.Create(1),
        });

        // A stream resolver (an account from the route, say) names the stream; the header is then not the client's to choose.
        if (!policy.HasSequenceStreamResolver)
        {
            AddHeader(parameters, new OpenApiParameter
            {
                Name = options.SequenceStreamHeaderName,
                In = ParameterLocation.Header,
                Required = false,
                Description = "The stream the sequence number belongs to, within the caller's scope: 1 to 128 visible ASCII characters. Defaults to `default`.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 128 },
            });
        }

        AddHeader(parameters, new OpenApiParameter
        {
            Name = options.SequenceEpochHeaderName,
            In = ParameterLocation.Header,
            Required = false,
            Description = string.Create(
                CultureInfo.InvariantCulture,
                $"The client's incarnation. A client that restarts without knowing its last number sends a higher epoch and starts its stream over at 1; requests of an older epoch are refused (`409 {options.ProblemTypeBaseUri}{ProblemCatalog.EpochFenced.Name}`). A decimal integer from 0; defaults to 0."),
            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0", Default = JsonValue.Create(0) },
        });
    }

    /// <summary>Adds a header parameter unless the endpoint documents one of that name itself.</summary>
    private static void AddHeader(IList<IOpenApiParameter> parameters, OpenApiParameter parameter)
    {
        foreach (var existing in parameters)
        {
            if (existing.In == ParameterLocation.Header && string.Equals(existing.Name, parameter.Name, StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        parameters.Add(parameter);
    }

    private static string KeyDescription(ResolvedPolicy policy, IdempotencyOptions options)
    {
        var text = new StringBuilder(
            "Identifies one operation: send a new key for each new operation and the same key with every retry of it. A retry gets the stored response (marked `")
            .Append(options.ReplayedHeaderName)
            .Append(": true`) instead of running the operation again. An RFC 8941 string (`\"order-1001\"`) or a bare value of visible ASCII without `\"`, `\\` or `,`; 1 to ")
            .Append(options.MaxKeyLength.ToString(CultureInfo.InvariantCulture))
            .Append(" characters after unquoting.");

        var number = options.SequenceNumberHeaderName;
        switch (policy.Sequence)
        {
            case SequenceRequirement.Required:
                text.Append(" Optional here: requests are deduplicated by `").Append(number)
                    .Append("`; a key sent along becomes part of the request's fingerprint, so a retry must repeat it.");
                break;
            case SequenceRequirement.Optional when policy.KeyRequired:
                text.Append(" Required unless the request carries `").Append(number)
                    .Append("`, which then deduplicates it; a key sent along becomes part of the request's fingerprint.");
                break;
            case SequenceRequirement.Optional:
                text.Append(" Optional: a request with neither a key nor `").Append(number)
                    .Append("` runs unprotected and is never recorded. With `").Append(number)
                    .Append("`, the key becomes part of the request's fingerprint.");
                break;
            default:
                if (!policy.KeyRequired)
                {
                    text.Append(" Optional: a request without a key runs unprotected and is never recorded.");
                }

                break;
        }

        return text.ToString();
    }

    private static string SequenceNumberDescription(ResolvedPolicy policy, IdempotencyOptions options)
    {
        var text = new StringBuilder(
            "The position of this request in its stream: 1 for the first request, one more for each next one; a retry repeats its number. The requests of a stream are applied in order, each exactly once. A decimal integer from 1 to 9223372036854775807.");
        text.Append(!policy.HasSequenceStreamResolver
            ? $" The stream is named by `{options.SequenceStreamHeaderName}`."
            : " The endpoint chooses the stream (for example from the route).");
        if (policy.Sequence == SequenceRequirement.Optional)
        {
            text.Append(" Optional: a request without it is deduplicated by its idempotency key.");
        }

        return text.ToString();
    }

    /// <summary>Marks every documented 2xx response as one that may be a replay.</summary>
    private static void MarkReplayableResponses(OpenApiOperation operation, IdempotencyOptions options)
    {
        if (operation.Responses is not { } responses)
        {
            return;
        }

        foreach (var (status, response) in responses)
        {
            if (!status.StartsWith('2') || response is not OpenApiResponse concrete)
            {
                continue;
            }

            var headers = concrete.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase);
            headers.TryAdd(options.ReplayedHeaderName, new OpenApiHeader
            {
                Description = "`true` when this response is the stored response of an earlier request with the same idempotency key (or sequence number), replayed instead of running the operation again. Absent otherwise.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("true")] },
            });
        }
    }

    private static void AddProblemResponses(OpenApiOperation operation, ResolvedPolicy policy, IdempotencyOptions options, IOpenApiSchema problemSchema)
    {
        var responses = operation.Responses ??= [];
        var problems = ProblemCatalog.For(policy);
        var start = 0;
        while (start < problems.Count)
        {
            var status = problems[start].Status;
            var end = start;
            while (end < problems.Count && problems[end].Status == status)
            {
                end++;
            }

            var code = status.ToString(CultureInfo.InvariantCulture);
            if (!responses.ContainsKey(code))
            {
                responses[code] = ProblemResponse(status, problems, start, end, KeyHeaderName(policy, options), options, problemSchema);
            }

            start = end;
        }
    }

    private static OpenApiResponse ProblemResponse(
        int status, List<ProblemKind> problems, int start, int end, string keyHeaderName, IdempotencyOptions options, IOpenApiSchema problemSchema)
    {
        var description = new StringBuilder(ReasonPhrase(status)).Append(": an idempotency problem.\n");
        var retryAfter = false;
        for (var i = start; i < end; i++)
        {
            var problem = problems[i];
            description.Append("\n- `").Append(options.ProblemTypeBaseUri).Append(problem.Name).Append("`: ")
                .Append(problem.When
                    .Replace("{key}", keyHeaderName, StringComparison.Ordinal)
                    .Replace("{number}", options.SequenceNumberHeaderName, StringComparison.Ordinal)
                    .Replace("{epoch}", options.SequenceEpochHeaderName, StringComparison.Ordinal)
                    .Replace("{stream}", options.SequenceStreamHeaderName, StringComparison.Ordinal));
            retryAfter |= ReferenceEquals(problem, ProblemCatalog.InFlight) || problem.Status is 429 or 503;
        }

        var response = new OpenApiResponse
        {
            Description = description.ToString(),
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                [ProblemContentType] = new OpenApiMediaType { Schema = problemSchema },
            },
        };
        if (retryAfter)
        {
            response.Headers = new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase)
            {
                [RetryAfterHeaderName] = new OpenApiHeader
                {
                    Description = status is 429 or 503
                        ? "Seconds to wait before retrying with the same key."
                        : "Seconds to wait before retrying a request that is still in flight.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
                },
            };
        }

        return response;
    }

    private static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request",
        409 => "Conflict",
        422 => "Unprocessable Content",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        _ => "Service Unavailable",
    };
}
