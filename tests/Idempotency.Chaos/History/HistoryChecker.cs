namespace Idempotency.Chaos.History;

/// <summary>
/// Reads a recorded history and checks the promise against it, not against status codes alone:
/// <list type="bullet">
/// <item>at most one execution per operation (principal and key, or principal and stream position). One more is
/// allowed only on evidence: an earlier execution whose response provably never became the record (fenced, released,
/// or a failed completion that the store, read back after the run, shows did not land) and whose lease provably ended
/// before the later one began: the later begin call started after the latest moment the earlier lease can have lasted
/// to (granted plus lease, extended by every renewal; unknown after a renewal without an answer), or after the store
/// answered the earlier release; or, tighter, by the store's own log of its commands (Redis's MONITOR feed), when it
/// missed nothing in between: the later lease was granted at least a lease after the earlier one's last command. All
/// times are on the run's one clock; without them (another process) nothing is allowed. Each earlier execution
/// justifies at most one more;</item>
/// <item>every replay identical (status, every header the record keeps, body) to a response the store accepted, never
/// to one it fenced off;</item>
/// <item>every first success response is the one its own execution wrote, and no response carries another principal's data;</item>
/// <item>no 5xx but 503 store-unavailable, every 503 and every 409 in flight with <c>Retry-After</c>;</item>
/// <item>refused input never executes and gets a 4xx (or no answer at all);</item>
/// <item>every logical client (but the hostile ones that expect a refusal) ends with a success: its response or its
/// replay. A client whose last answer is anything else (no answer, 503, 409 in flight, a stream stuck on a sequence
/// gap) lost its response.</item>
/// </list>
/// </summary>
public static class HistoryChecker
{
    private const string InFlightType = "urn:idempotency:idempotency-request-in-flight";
    private const string UnavailableType = "urn:idempotency:idempotency-store-unavailable";

    public static CheckReport Check(HistoryRecorder history) => Check(history.Requests, history.Executions, history.Failures);

    public static CheckReport Check(IReadOnlyCollection<RequestRecord> requests, IReadOnlyCollection<ExecutionRecord> executions, IReadOnlyDictionary<long, string>? failures = null)
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

        var (maxExecutions, duplicates, reexecutions) = CheckExecutions(byOperation, violations);
        var rejected = new HashSet<long>();
        var counts = new StatusCounts();
        foreach (var request in requests)
        {
            counts.Add(request);
            CheckStatus(request, violations, failures);
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
            Reexecutions = reexecutions,
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
    /// Walks each operation's executions in order. An execution after the first is allowed when an earlier one that
    /// has not justified another yet provably left the record free for it (<see cref="Frees"/>); any other is a duplicate.
    /// </summary>
    private static (int Max, int Duplicates, List<AllowedReexecution> Reexecutions) CheckExecutions(
        Dictionary<(string Principal, string Operation), List<ExecutionRecord>> byOperation, List<Violation> violations)
    {
        var max = 0;
        var duplicates = 0;
        var allowed = new List<AllowedReexecution>();
        var reasons = new List<string>();
        foreach (var ((principal, operation), list) in byOperation)
        {
            max = Math.Max(max, list.Count);
            var spent = new bool[list.Count];
            for (var i = 1; i < list.Count; i++)
            {
                var later = list[i];
                reasons.Clear();
                var justified = false;
                for (var j = 0; j < i && !justified; j++)
                {
                    if (spent[j])
                    {
                        reasons.Add($"request {list[j].RequestId} on {list[j].Instance}: already justified another execution");
                        continue;
                    }

                    if (Frees(list[j], later, out var proof, out var reason))
                    {
                        spent[j] = true;
                        justified = true;
                        allowed.Add(new AllowedReexecution(principal, operation, later.RequestId, list[j].RequestId, proof, reason));
                    }
                    else
                    {
                        reasons.Add($"request {list[j].RequestId} on {list[j].Instance}: {reason}");
                    }
                }

                if (!justified)
                {
                    duplicates++;
                    violations.Add(new Violation(
                        ViolationKind.DuplicateExecution, principal, operation,
                        $"execution {i + 1} (request {later.RequestId} on {later.Instance}, {Describe(later.Lease)}) after " + string.Join("; ", reasons)));
                }
            }
        }

        return (max, duplicates, allowed);
    }

    /// <summary>
    /// Whether <paramref name="earlier"/> provably left the record free for <paramref name="later"/>: its response
    /// never became the record, and its lease had ended (expired, or released by a call the store answered) before the
    /// later begin call started. <paramref name="reason"/> is the evidence, or why there is none; <paramref name="proof"/>
    /// names the evidence in a few words.
    /// </summary>
    private static bool Frees(ExecutionRecord earlier, ExecutionRecord later, out string proof, out string reason)
    {
        proof = string.Empty;
        if (earlier.Lease is not { } lease || later.Lease is not { } next)
        {
            reason = "no lease was seen granted (no times to prove anything by)";
            return false;
        }

        string notStored;
        string notStoredProof;
        switch (earlier.Completion)
        {
            case CompletionOutcome.Fenced:
                notStored = "its completion was fenced";
                notStoredProof = "fenced";
                break;
            case CompletionOutcome.Released:
                notStored = "it was released";
                notStoredProof = "released";
                break;
            case CompletionOutcome.Failed when earlier.Landed == false:
                notStored = "its completion failed and the store, read back, does not hold it";
                notStoredProof = "failed, not in the store";
                break;
            case CompletionOutcome.Failed:
                reason = earlier.Landed == true
                    ? "its completion failed, but the store, read back, holds its response: it landed"
                    : "its completion failed and the store could not be read back: it may have landed";
                return false;
            case CompletionOutcome.Stored:
                reason = "its response was stored";
                return false;
            default:
                reason = "the store never reported on its response";
                return false;
        }

        var began = LeaseRecord.Format(next.GrantedAfter);
        if (earlier.Completion == CompletionOutcome.Released && earlier.CompletionEndedAt is { } released && released <= next.GrantedAfter)
        {
            reason = $"{notStored}, answered at {LeaseRecord.Format(released)}, before request {later.RequestId} began at {began}";
            proof = $"{notStoredProof}; release answered before";
            return true;
        }

        // The store's own log, when both leases are in it and it missed nothing in between: the later lease was granted
        // after the earlier one's last command (begin, renewal or completion) plus the lease.
        if (lease.Log is { } log && ReferenceEquals(log, next.Log) && lease.StoreTimes.Count > 0 && next.StoreTimes.Count > 0)
        {
            var granted = next.StoreTimes[0];
            var last = TimeSpan.MinValue;
            foreach (var time in lease.StoreTimes)
            {
                last = time <= granted && time > last ? time : last;
            }

            if (last > TimeSpan.MinValue && last + lease.Duration <= granted && log.Covers(lease.StoreTimes[0], granted))
            {
                reason = $"{notStored}; the store's log: its lease granted at {LeaseRecord.Format(lease.StoreTimes[0])}, its last command at {LeaseRecord.Format(last)}, " +
                    $"so ended by {LeaseRecord.Format(last + lease.Duration)}, before request {later.RequestId}'s lease was granted at {LeaseRecord.Format(granted)}";
                proof = $"{notStoredProof}; lease ended by Redis's log";
                return true;
            }
        }

        if (lease.End is { } end && end <= next.GrantedAfter)
        {
            reason = $"{notStored}; its lease (granted after {LeaseRecord.Format(lease.GrantedAfter)}) had ended by {LeaseRecord.Format(end)}, before request {later.RequestId} began at {began}";
            proof = $"{notStoredProof}; lease ended by the harness's clock";
            return true;
        }

        reason = lease.End is { } live
            ? $"{notStored}, but its lease may have lasted until {LeaseRecord.Format(live)}, after request {later.RequestId} began at {began}"
            : $"{notStored}, but a renewal without an answer left the end of its lease unknown";
        return false;
    }

    private static string Describe(LeaseRecord? lease) => lease?.ToString() ?? "no lease seen";

    private static void CheckStatus(RequestRecord request, List<Violation> violations, IReadOnlyDictionary<long, string>? failures)
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
            var failure = failures is not null && failures.TryGetValue(request.RequestId, out var exception) ? $" ({exception})" : string.Empty;
            violations.Add(new Violation(ViolationKind.ServerError, request.Principal, request.Operation, $"request {request.RequestId} got {request.Status} on {request.Instance}{failure}"));
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

    /// <summary>Status, <c>Location</c>, every header the execution's response must carry, and the body, byte for byte.</summary>
    private static bool SameResponse(RequestRecord request, ExecutionRecord execution)
    {
        if (request.Status != execution.Status
            || !string.Equals(request.Location, execution.Location, StringComparison.Ordinal)
            || !request.Body.AsSpan().SequenceEqual(execution.Body))
        {
            return false;
        }

        foreach (var (name, value) in execution.Headers)
        {
            if (!request.Headers.TryGetValue(name, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A logical client that ended on anything but a success (no response, 503, 409 in flight, a sequence gap, any other
    /// refusal) gave up without its response. Hostile clients, which expect a refusal, and refused input are exempt.
    /// </summary>
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
            if (!request.IsSuccess && !request.Hostile)
            {
                lost++;
                var answer = request.Status == 0
                    ? request.Error
                    : request.Status.ToString(System.Globalization.CultureInfo.InvariantCulture) + (request.ProblemType is { } type ? " " + type : string.Empty);
                violations.Add(new Violation(
                    ViolationKind.LostResponse, request.Principal, request.Operation,
                    $"client {request.LogicalClient} ended after attempt {request.Attempt} on {answer}"));
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
