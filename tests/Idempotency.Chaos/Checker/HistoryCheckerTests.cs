using System.Text;
using Idempotency.Chaos.History;

namespace Idempotency.Chaos.Checker;

/// <summary>The checker must catch each kind of broken promise, or a clean report from a scenario would mean nothing.</summary>
public sealed class HistoryCheckerTests
{
    private readonly HistoryRecorder _history = new();

    [Fact]
    public void A_clean_history_has_no_violations()
    {
        var first = Execute("alice", "key:a", CompletionOutcome.Stored);
        Respond(first, replayed: false);
        Respond(first, replayed: true, client: 2);

        var report = HistoryChecker.Check(_history);

        report.AssertClean();
        Assert.Equal(1, report.MaxExecutionsPerOperation);
        Assert.Equal(1, report.Replays);
    }

    [Fact]
    public void A_second_execution_after_a_stored_response_is_a_duplicate()
    {
        Execute("alice", "key:a", CompletionOutcome.Stored);
        Execute("alice", "key:a", CompletionOutcome.Stored);

        var report = HistoryChecker.Check(_history);

        Assert.Equal(1, report.Duplicates);
        Assert.Equal(2, report.MaxExecutionsPerOperation);
        Assert.Equal(ViolationKind.DuplicateExecution, Assert.Single(report.Violations).Kind);
    }

    [Fact]
    public void Executions_without_any_store_report_are_duplicates()
    {
        // The control run: no middleware, so nothing ever reports a completion.
        Execute("alice", "key:a", CompletionOutcome.None);
        Execute("alice", "key:a", CompletionOutcome.None);
        Execute("alice", "key:a", CompletionOutcome.None);

        Assert.Equal(2, HistoryChecker.Check(_history).Duplicates);
    }

    [Fact]
    public void One_more_execution_is_allowed_after_each_response_that_could_not_be_stored()
    {
        Execute("alice", "key:a", CompletionOutcome.Failed);
        Execute("alice", "key:a", CompletionOutcome.Fenced);
        Execute("alice", "key:a", CompletionOutcome.Stored);
        Execute("alice", "key:a", CompletionOutcome.Stored);

        var report = HistoryChecker.Check(_history);

        Assert.Equal(2, report.AllowedReexecutions);
        Assert.Equal(1, report.Duplicates);
    }

    [Fact]
    public void The_same_key_of_two_principals_is_two_operations()
    {
        Execute("alice", "key:a", CompletionOutcome.Stored);
        Execute("bob", "key:a", CompletionOutcome.Stored);

        HistoryChecker.Check(_history).AssertClean();
    }

    [Fact]
    public void A_replay_that_differs_by_one_byte_is_a_mismatch()
    {
        var first = Execute("alice", "key:a", CompletionOutcome.Stored);
        var altered = (byte[])first.Body.Clone();
        altered[^2] ^= 1;
        Respond(first, replayed: true, body: altered);

        Assert.Equal(ViolationKind.ReplayMismatch, Assert.Single(HistoryChecker.Check(_history).Violations).Kind);
    }

    [Fact]
    public void A_replay_with_another_Location_is_a_mismatch()
    {
        var first = Execute("alice", "key:a", CompletionOutcome.Stored);
        Respond(first, replayed: true, location: "/elsewhere");

        Assert.Equal(ViolationKind.ReplayMismatch, Assert.Single(HistoryChecker.Check(_history).Violations).Kind);
    }

    [Fact]
    public void Replaying_the_response_of_a_fenced_late_writer_is_caught()
    {
        var late = Execute("alice", "key:a", CompletionOutcome.Fenced);
        Execute("alice", "key:a", CompletionOutcome.Stored);
        Respond(late, replayed: true, client: 3);

        var report = HistoryChecker.Check(_history);

        Assert.Equal(ViolationKind.FencedResponseReplayed, Assert.Single(report.Violations).Kind);
    }

    [Fact]
    public void A_response_carrying_another_principals_data_is_a_leak()
    {
        var alice = Execute("alice", "key:a", CompletionOutcome.Stored);
        _history.Add(Request(alice.RequestId + 100, "bob", "key:a", client: 9) with
        {
            Status = alice.Status, Replayed = true, Location = alice.Location, Body = alice.Body,
        });

        Assert.Equal(ViolationKind.CrossPrincipalLeak, Assert.Single(HistoryChecker.Check(_history).Violations).Kind);
    }

    [Fact]
    public void A_first_response_that_its_own_execution_did_not_write_is_caught()
    {
        var first = Execute("alice", "key:a", CompletionOutcome.Stored);
        Respond(first, replayed: false, body: Encoding.UTF8.GetBytes("{}"));

        Assert.Equal(ViolationKind.ResponseWithoutExecution, Assert.Single(HistoryChecker.Check(_history).Violations).Kind);
    }

    [Fact]
    public void A_500_is_a_server_error()
    {
        _history.Add(Request(1, "alice", "key:a") with { Status = 500 });
        _history.Add(Request(2, "alice", "key:a", attempt: 2) with { Status = 400 });

        var report = HistoryChecker.Check(_history);

        Assert.Equal(ViolationKind.ServerError, Assert.Single(report.Violations).Kind);
        Assert.Equal(1, report.ServerErrors);
    }

    [Fact]
    public void A_503_without_Retry_After_is_caught_and_one_with_it_is_not()
    {
        _history.Add(Request(1, "alice", "key:a") with { Status = 503, ProblemType = "urn:idempotency:idempotency-store-unavailable", HasRetryAfter = false });
        _history.Add(Request(2, "alice", "key:a", attempt: 2) with { Status = 503, ProblemType = "urn:idempotency:idempotency-store-unavailable", HasRetryAfter = true });
        _history.Add(Request(3, "alice", "key:a", attempt: 3) with { Status = 422 });

        var report = HistoryChecker.Check(_history);

        Assert.Equal(ViolationKind.UnavailableWithoutRetryAfter, Assert.Single(report.Violations).Kind);
        Assert.Equal(2, report.Unavailable);
    }

    [Fact]
    public void A_409_in_flight_without_Retry_After_is_caught()
    {
        _history.Add(Request(1, "alice", "key:a") with { Status = 409, ProblemType = "urn:idempotency:idempotency-request-in-flight" });
        _history.Add(Request(2, "alice", "key:a", attempt: 2) with { Status = 422 });

        Assert.Equal(ViolationKind.InFlightWithoutRetryAfter, Assert.Single(HistoryChecker.Check(_history).Violations).Kind);
    }

    [Fact]
    public void A_client_whose_last_attempt_was_still_unanswered_lost_its_response()
    {
        _history.Add(Request(1, "alice", "key:a") with { Status = 503, ProblemType = "urn:idempotency:idempotency-store-unavailable", HasRetryAfter = true });
        _history.Add(Request(2, "alice", "key:b", client: 2) with { Error = "connection reset" });

        var report = HistoryChecker.Check(_history);

        Assert.Equal(2, report.LostResponses);
        Assert.All(report.Violations, violation => Assert.Equal(ViolationKind.LostResponse, violation.Kind));
    }

    [Fact]
    public void Refused_input_that_reached_a_handler_or_got_a_success_is_caught()
    {
        _history.Add(Request(1, "alice", "key:bad") with { Status = 201, MustBeRejected = true });
        _history.AddExecution(1, "alice", "key:bad", "A", 201, "/x", [1]);
        _history.Add(Request(2, "alice", "key:worse", client: 2) with { Status = 400, MustBeRejected = true });
        _history.Add(Request(3, "alice", "key:dropped", client: 3) with { Status = 0, Error = "reset", MustBeRejected = true });

        var report = HistoryChecker.Check(_history);

        Assert.Equal(1, report.CountOf(ViolationKind.RejectedInputAccepted));
        Assert.Equal(1, report.CountOf(ViolationKind.RejectedInputExecuted));
        Assert.Equal(2, report.Violations.Count);
    }

    private ExecutionRecord Execute(string principal, string operation, CompletionOutcome completion)
    {
        var requestId = _history.NextRequestId();
        var body = Encoding.UTF8.GetBytes($"{{\"principal\":\"{principal}\",\"operation\":\"{operation}\",\"request\":{requestId}}}");
        var execution = _history.AddExecution(requestId, principal, operation, "A", 201, $"/ops/A/{requestId}", body);
        execution.Completion = completion;
        return execution;
    }

    private void Respond(ExecutionRecord execution, bool replayed, byte[]? body = null, string? location = null, int client = 1)
        => _history.Add(Request(replayed ? _history.NextRequestId() : execution.RequestId, execution.Principal, execution.Operation, client) with
        {
            Status = execution.Status,
            Replayed = replayed,
            Location = location ?? execution.Location,
            Body = body ?? execution.Body,
        });

    private static RequestRecord Request(long id, string principal, string operation, long client = 1, int attempt = 1)
        => new() { RequestId = id, Principal = principal, Operation = operation, LogicalClient = client, Attempt = attempt, Instance = "A" };
}
