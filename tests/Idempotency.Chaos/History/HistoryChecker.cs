namespace Idempotency.Chaos.History;

/// <summary>
/// Reads a recorded history and checks the promise against it, not against status codes alone:
/// <list type="bullet">
/// <item>at most one execution per operation (principal and key, or principal and stream position), except where an
/// earlier execution's response provably never made it into the store (completion failed, fenced or released): then
/// the record expires with its lease and one more execution is what the contract allows (docs/contract-notes.md);</item>
/// <item>every replay byte-identical (status, <c>Location</c>, body) to a response the store accepted, never to one it fenced off;</item>
/// <item>every first success response is the one its own execution wrote, and no response carries another principal's data;</item>
/// <item>no 5xx but 503 store-unavailable, every 503 and every 409 in flight with <c>Retry-After</c>;</item>
/// <item>refused input never executes and gets a 4xx (or no answer at all);</item>
/// <item>no client gives up on an operation without its response.</item>
/// </list>
/// </summary>
public static class HistoryChecker
{
    private const string InFlightType = "urn:idempotency:idempotency-request-in-flight";
    private const string UnavailableType = "urn:idempotency:idempotency-store-unavailable";

    public static CheckReport Check(HistoryRecorder history) => Check(history.Requests, history.Executions);

    public static CheckReport Check(IReadOnlyCollection<RequestRecord> requests, IReadOnlyCollection<ExecutionRecord> executions)
    {
        var violations = new List<Violation>();
        var byRequest = new Dictionary<long, ExecutionRecord>();
        var byOperation = new Dictionary<(string Principal, string Operation), List<ExecutionRecord>>();
        var byBody = new Dictionary<string, ExecutionRecord>(StringComparer.Ordinal);
        foreach (var execution in executions.OrderBy(e => e.Sequence))
        {
            byRequest[execution.RequestId] = execution;
            var id = (execution.Principal, execution.Operation);
            if (!byOperation.TryGetValue(id, out var list))
            {
                byOperation[id] = list = [];
            }

            list.Add(execution);
            byBody.TryAdd(Convert.ToBase64String(execution.Body), execution);
        }

        var (maxExecutions, duplicates, allowed) = CheckExecutions(byOperation, violations);
        var rejected = new HashSet<long>();
        var counts = new StatusCounts();
        foreach (var request in requests)
        {
            counts.Add(request);
            CheckStatus(request, violations);
            if (request.MustBeRejected)
            {
                rejected.Add(request.RequestId);
                if (request.Status is not (0 or (>= 400 and < 500)))
                {
                    violations.Add(new Violation(ViolationKind.RejectedInputAccepted, request.Principal, request.Operation, $"request {request.RequestId} got {request.Status}"));
                }
            }
            else if (request.IsSuccess)
            {
                CheckResponse(request, byRequest, byOperation, byBody, violations);
            }
        }

        foreach (var execution in executions)
        {
            if (rejected.Contains(execution.RequestId))
            {
                violations.Add(new Violation(ViolationKind.RejectedInputExecuted, execution.Principal, execution.Operation, $"request {execution.RequestId} ran on {execution.Instance}"));
            }
        }

        var lost = CheckLost(requests, violations);
        var operations = new HashSet<(string, string)>();
        foreach (var request in requests)
        {
            if (!request.MustBeRejected)
            {
                operations.Add((request.Principal, request.Operation));
            }
        }

        return new CheckReport
        {
            Requests = requests.Count,
            Operations = operations.Count,
            Executions = executions.Count,
            MaxExecutionsPerOperation = maxExecutions,
            Duplicates = duplicates,
            AllowedReexecutions = allowed,
            LostResponses = lost,
            ServerErrors = counts.ServerErrors,
            Unavailable = counts.Unavailable,
            InFlight = counts.InFlight,
            Replays = counts.Replays,
            NoResponse = counts.NoResponse,
            Violations = violations,
        };
    }

    /// <summary>
    /// Walks each operation's executions in order. An execution whose response never reached the store earns one
    /// more execution (the record it left in flight expires); any other execution after the first is a duplicate.
    /// </summary>
    private static (int Max, int Duplicates, int Allowed) CheckExecutions(
        Dictionary<(string Principal, string Operation), List<ExecutionRecord>> byOperation, List<Violation> violations)
    {
        var max = 0;
        var duplicates = 0;
        var allowed = 0;
        foreach (var ((principal, operation), list) in byOperation)
        {
            max = Math.Max(max, list.Count);
            var credits = 0;
            for (var i = 0; i < list.Count; i++)
            {
                var execution = list[i];
                if (i > 0)
                {
                    if (credits > 0)
                    {
                        credits--;
                        allowed++;
                    }
                    else
                    {
                        duplicates++;
                        violations.Add(new Violation(
                            ViolationKind.DuplicateExecution, principal, operation,
                            $"execution {i + 1} (request {execution.RequestId} on {execution.Instance}) after " +
                            string.Join(", ", list.Take(i).Select(e => $"request {e.RequestId} on {e.Instance}: {e.Completion}"))));
                    }
                }

                if (execution.Completion is CompletionOutcome.Failed or CompletionOutcome.Fenced or CompletionOutcome.Released)
                {
                    credits++;
                }
            }
        }

        return (max, duplicates, allowed);
    }

    private static void CheckStatus(RequestRecord request, List<Violation> violations)
    {
        if (request.Status == 503)
        {
            if (!request.HasRetryAfter || request.ProblemType != UnavailableType)
            {
                violations.Add(new Violation(
                    ViolationKind.UnavailableWithoutRetryAfter, request.Principal, request.Operation,
                    $"request {request.RequestId}: Retry-After {(request.HasRetryAfter ? "present" : "missing")}, type {request.ProblemType ?? "(none)"}"));
            }
        }
        else if (request.Status >= 500)
        {
            violations.Add(new Violation(ViolationKind.ServerError, request.Principal, request.Operation, $"request {request.RequestId} got {request.Status} on {request.Instance}"));
        }
        else if (request.Status == 409 && request.ProblemType == InFlightType && !request.HasRetryAfter)
        {
            violations.Add(new Violation(ViolationKind.InFlightWithoutRetryAfter, request.Principal, request.Operation, $"request {request.RequestId}"));
        }
    }

    private static void CheckResponse(
        RequestRecord request,
        Dictionary<long, ExecutionRecord> byRequest,
        Dictionary<(string Principal, string Operation), List<ExecutionRecord>> byOperation,
        Dictionary<string, ExecutionRecord> byBody,
        List<Violation> violations)
    {
        if (request.Replayed)
        {
            if (byOperation.TryGetValue((request.Principal, request.Operation), out var candidates))
            {
                foreach (var candidate in candidates)
                {
                    if (!SameResponse(request, candidate))
                    {
                        continue;
                    }

                    // Failed means the caller never learnt the outcome: the script may have run before the connection
                    // died. Fenced and Released are definite refusals, so such a response can never be in the store.
                    if (candidate.Completion is CompletionOutcome.Stored or CompletionOutcome.Failed)
                    {
                        return;
                    }

                    violations.Add(new Violation(
                        ViolationKind.FencedResponseReplayed, request.Principal, request.Operation,
                        $"request {request.RequestId} replayed request {candidate.RequestId}'s response, whose completion was {candidate.Completion}"));
                    return;
                }
            }
        }
        else if (byRequest.TryGetValue(request.RequestId, out var own) && SameResponse(request, own))
        {
            return;
        }

        if (byBody.TryGetValue(Convert.ToBase64String(request.Body), out var foreign)
            && (foreign.Principal != request.Principal || foreign.Operation != request.Operation))
        {
            violations.Add(new Violation(
                ViolationKind.CrossPrincipalLeak, request.Principal, request.Operation,
                $"request {request.RequestId} got the response of {foreign.Principal} {foreign.Operation} (request {foreign.RequestId})"));
            return;
        }

        violations.Add(new Violation(
            request.Replayed ? ViolationKind.ReplayMismatch : ViolationKind.ResponseWithoutExecution, request.Principal, request.Operation,
            $"request {request.RequestId} ({request.Status}, replayed: {request.Replayed}) matches no execution of its operation"));
    }

    private static bool SameResponse(RequestRecord request, ExecutionRecord execution)
        => request.Status == execution.Status
            && string.Equals(request.Location, execution.Location, StringComparison.Ordinal)
            && request.Body.AsSpan().SequenceEqual(execution.Body);

    /// <summary>A logical client whose last attempt still waited for an answer (no response, 503, 409 in flight) gave up on it.</summary>
    private static int CheckLost(IReadOnlyCollection<RequestRecord> requests, List<Violation> violations)
    {
        var last = new Dictionary<long, RequestRecord>();
        foreach (var request in requests)
        {
            if (request.MustBeRejected)
            {
                continue;
            }

            if (!last.TryGetValue(request.LogicalClient, out var previous) || previous.Attempt < request.Attempt)
            {
                last[request.LogicalClient] = request;
            }
        }

        var lost = 0;
        foreach (var request in last.Values)
        {
            if (request.Status == 0 || request.Status == 503 || (request.Status == 409 && request.ProblemType == InFlightType))
            {
                lost++;
                violations.Add(new Violation(
                    ViolationKind.LostResponse, request.Principal, request.Operation,
                    $"client {request.LogicalClient} gave up after attempt {request.Attempt}: {(request.Status == 0 ? request.Error : request.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))}"));
            }
        }

        return lost;
    }

    private sealed class StatusCounts
    {
        public int ServerErrors { get; private set; }

        public int Unavailable { get; private set; }

        public int InFlight { get; private set; }

        public int Replays { get; private set; }

        public int NoResponse { get; private set; }

        public void Add(RequestRecord request)
        {
            switch (request.Status)
            {
                case 0:
                    NoResponse++;
                    break;
                case 503:
                    Unavailable++;
                    ServerErrors++;
                    break;
                case >= 500:
                    ServerErrors++;
                    break;
                case 409 when request.ProblemType == InFlightType:
                    InFlight++;
                    break;
                default:
                    Replays += request.Replayed ? 1 : 0;
                    break;
            }
        }
    }
}
