using System.Globalization;
using System.Text.Json;
using Idempotency.Hooks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace Idempotency.Problems;

/// <summary>
/// Writes RFC 9457 problem responses, through <see cref="IProblemDetailsService"/> when the application registered one
/// (so its customizations apply), otherwise directly as <c>application/problem+json</c>.
/// </summary>
internal sealed class ProblemResponseWriter
{
    private const string ProblemContentType = "application/problem+json";

    private readonly string _typeBase;
    private readonly IProblemDetailsService? _problemDetailsService;
    private readonly IdempotencyHooks? _hooks;

    /// <param name="options">The options.</param>
    /// <param name="problemDetailsService">The application's problem details service, if it registered one.</param>
    /// <param name="hooks">Whose <see cref="IdempotencyOptions.OnRejected"/> hears of every problem written; may be null.</param>
    public ProblemResponseWriter(IdempotencyOptions options, IProblemDetailsService? problemDetailsService, IdempotencyHooks? hooks = null)
    {
        _typeBase = options.ProblemTypeBaseUri;
        _problemDetailsService = problemDetailsService;
        _hooks = hooks is { HasOnRejected: true } ? hooks : null;
    }

    /// <summary>Writes <paramref name="problem"/>; <paramref name="status"/>, when given, replaces the problem's usual status.</summary>
    public Task WriteAsync(
        HttpContext context, IdempotencyProblem problem, string detail, TimeSpan? retryAfter = null, ProblemExtensions extensions = default, int? status = null)
    {
        var response = context.Response;
        response.StatusCode = status ?? problem.Status;
        if (retryAfter is { } delay)
        {
            response.Headers[HeaderNames.RetryAfter] = RetryAfterSeconds(delay).ToString(CultureInfo.InvariantCulture);
        }

        var type = string.Concat(_typeBase, problem.Name);
        var write = _problemDetailsService is null
            ? WriteJsonAsync(response, type, problem, detail, extensions)
            : WriteWithServiceAsync(context, type, problem, detail, extensions);
        return _hooks is null ? write : WriteThenNotifyAsync(write, context, problem, response.StatusCode);
    }

    // Every problem the middleware answers passes here, so this is the one place OnRejected is raised. The middleware
    // sets the request's feature, with its policy, before it can answer any problem.
    private async Task WriteThenNotifyAsync(Task write, HttpContext context, IdempotencyProblem problem, int status)
    {
        await write.ConfigureAwait(false);
        var policyName = context.Features.Get<IIdempotencyFeature>()?.PolicyName ?? IdempotencyOptions.DefaultPolicyName;
        await _hooks!.RejectedAsync(context, policyName, problem.Name, status).ConfigureAwait(false);
    }

    private async Task WriteWithServiceAsync(HttpContext context, string type, IdempotencyProblem problem, string detail, ProblemExtensions extensions)
    {
        var details = new ProblemDetails
        {
            Type = type,
            Title = problem.Title,
            Status = context.Response.StatusCode,
            Detail = detail,
        };
        if (extensions.FirstName is { } first)
        {
            details.Extensions[first] = extensions.FirstValue;
        }

        if (extensions.SecondName is { } second)
        {
            details.Extensions[second] = extensions.SecondValue;
        }

        var written = await _problemDetailsService!.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = details }).ConfigureAwait(false);
        if (!written)
        {
            // The service declined (e.g. the client's Accept excludes JSON); the client still gets a problem body.
            await WriteJsonAsync(context.Response, type, problem, detail, extensions).ConfigureAwait(false);
        }
    }

    private static async Task WriteJsonAsync(HttpResponse response, string type, IdempotencyProblem problem, string detail, ProblemExtensions extensions)
    {
        response.ContentType = ProblemContentType;
        var writer = new Utf8JsonWriter(response.BodyWriter);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteString("type", type);
            writer.WriteString("title", problem.Title);
            writer.WriteNumber("status", response.StatusCode);
            writer.WriteString("detail", detail);
            if (extensions.FirstName is { } first)
            {
                writer.WriteNumber(first, extensions.FirstValue);
            }

            if (extensions.SecondName is { } second)
            {
                writer.WriteNumber(second, extensions.SecondValue);
            }

            writer.WriteEndObject();
            await writer.FlushAsync().ConfigureAwait(false);
        }

        await response.BodyWriter.FlushAsync().ConfigureAwait(false);
    }

    internal static long RetryAfterSeconds(TimeSpan delay) => Math.Max(1, (long)Math.Ceiling(delay.TotalSeconds));
}
