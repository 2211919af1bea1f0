using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Idempotency.Chaos.History;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// Sends operations to the app instances and records every attempt in the history. A logical client retries the same
/// request (same key, same body) on another instance each time, as a client behind a load balancer would.
/// </summary>
public sealed class ChaosClient(IReadOnlyList<IAppInstance> instances, HistoryRecorder history)
{
    public HistoryRecorder History => history;

    /// <summary>Called when a logical client reaches its deadline still owed its response (a diagnostic hook).</summary>
    public Func<OperationRequest, RequestRecord, Task>? GaveUp { get; set; }

    /// <summary>Runs one logical client to an answer it can act on, or to its deadline.</summary>
    public async Task<RequestRecord> RunAsync(OperationRequest operation, RetryPolicy policy, int firstInstance = 0)
    {
        var client = history.NextLogicalClient();
        var deadline = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            var instance = instances[(firstInstance + attempt - 1) % instances.Count];
            var record = await SendAsync(instance, operation, client, attempt);
            var retry = NeedsRetry(record) || (policy.RetryServerErrors && record.Status >= 500);
            if (!retry || deadline.Elapsed >= policy.Deadline)
            {
                if (retry && policy.Deadline > TimeSpan.Zero && GaveUp is { } gaveUp)
                {
                    await gaveUp(operation, record);
                }

                return record;
            }

            var pause = record.Status == 0 ? policy.MaxPause : TimeSpan.FromMilliseconds(Random.Shared.Next(10, (int)policy.MaxPause.TotalMilliseconds + 11));
            await Task.Delay(pause);
        }
    }

    /// <summary>Whether an answer still owes the client its response.</summary>
    public static bool NeedsRetry(RequestRecord record)
        => record.Status is 0 or 503 || (record.Status == 409 && record.ProblemType == "urn:idempotency:idempotency-request-in-flight");

    /// <summary>One attempt, recorded.</summary>
    public async Task<RequestRecord> SendAsync(IAppInstance instance, OperationRequest operation, long logicalClient, int attempt, CancellationToken cancellationToken = default)
    {
        var requestId = history.NextRequestId();
        using var request = new HttpRequestMessage(HttpMethod.Post, operation.Path) { Content = new ByteArrayContent(operation.Body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(operation.ContentType);
        var headers = request.Headers;
        headers.TryAddWithoutValidation(ChaosHeaders.Principal, operation.Principal);
        headers.TryAddWithoutValidation(ChaosHeaders.Operation, operation.Operation);
        headers.TryAddWithoutValidation(ChaosHeaders.RequestId, requestId.ToString(CultureInfo.InvariantCulture));
        if (operation.Key is not null)
        {
            headers.TryAddWithoutValidation("Idempotency-Key", operation.Key);
        }

        if (operation.SequenceNumber is { } number)
        {
            headers.TryAddWithoutValidation("Sequence-Number", number.ToString(CultureInfo.InvariantCulture));
            headers.TryAddWithoutValidation("Sequence-Stream", operation.SequenceStream);
        }

        var record = new RequestRecord
        {
            RequestId = requestId,
            Principal = operation.Principal,
            Operation = operation.Operation,
            LogicalClient = logicalClient,
            Attempt = attempt,
            Instance = instance.Name,
            Hostile = operation.Hostile,
        };
        try
        {
            using var response = await instance.Client.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            record = record with
            {
                Status = (int)response.StatusCode,
                Replayed = response.Headers.TryGetValues("Idempotent-Replayed", out var replayed) && replayed.Contains("true"),
                HasRetryAfter = response.Headers.RetryAfter is not null,
                ProblemType = ProblemType(response.Content.Headers.ContentType?.MediaType, body),
                Location = response.Headers.Location?.OriginalString,
                Body = body,
                Headers = HeadersOf(response),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            record = record with { Error = $"{ex.GetType().Name}: {ex.Message}" };
        }

        history.Add(record);
        return record;
    }

    /// <summary>
    /// One hand-written attempt, recorded like any other. <paramref name="mustBeRejected"/> marks input the contract
    /// refuses: the checker then demands a 4xx (or no answer) and no execution.
    /// </summary>
    public async Task<RequestRecord> SendRawAsync(IAppInstance instance, RawRequest request, string principal, string operation, long logicalClient, int attempt, bool mustBeRejected)
    {
        var requestId = history.NextRequestId();
        request.Header(ChaosHeaders.Principal, principal)
            .Header(ChaosHeaders.Operation, operation)
            .Header(ChaosHeaders.RequestId, requestId.ToString(CultureInfo.InvariantCulture));
        var response = await RawHttp.SendAsync(instance.Address!.Port, request);
        var record = new RequestRecord
        {
            RequestId = requestId,
            Principal = principal,
            Operation = operation,
            LogicalClient = logicalClient,
            Attempt = attempt,
            Instance = instance.Name,
            Status = response.Status,
            Replayed = response.Headers.TryGetValue("Idempotent-Replayed", out var replayed) && replayed == "true",
            HasRetryAfter = response.Headers.ContainsKey("Retry-After"),
            ProblemType = ProblemType(response.Headers.GetValueOrDefault("Content-Type")?.Split(';')[0], response.Body),
            Location = response.Headers.GetValueOrDefault("Location"),
            Body = response.Body,
            Headers = new Dictionary<string, string>(response.Headers, StringComparer.OrdinalIgnoreCase),
            Error = response.Error,
            MustBeRejected = mustBeRejected,
        };
        history.Add(record);
        return record;
    }

    /// <summary>The headers as they came over the wire, unparsed, several values joined with ", ".</summary>
    private static Dictionary<string, string> HeadersOf(HttpResponseMessage response)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.NonValidated)
        {
            headers[name] = string.Join(", ", values);
        }

        foreach (var (name, values) in response.Content.Headers.NonValidated)
        {
            headers[name] = string.Join(", ", values);
        }

        return headers;
    }

    public static string? ProblemType(string? mediaType, byte[] body)
    {
        if (mediaType != "application/problem+json")
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(body).RootElement.TryGetProperty("type", out var type) ? type.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
