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
    public void One_more_execution_is_allowed_after_each_response_not_stored_once_its_lease_had_ended()
    {
        Execute("alice", "key:a", CompletionOutcome.Failed, Lease(0, 2), landed: false);
        Execute("alice", "key:a", CompletionOutcome.Fenced, Lease(2.5, 4.5));
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(5, 7));
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(8, 10));

        var report = HistoryChecker.Check(_history);

        Assert.Equal(2, report.AllowedReexecutions);
        Assert.Equal(1, report.Duplicates);
    }

    [Fact]
    public void Sixty_four_executions_on_leases_handed_out_while_the_first_was_live_are_63_duplicates_although_each_owner_was_fenced()
    {
        // A store that ignores the lease check: every duplicate takes the record over, fencing the owner before it.
        for (var i = 0; i < 64; i++)
        {
            Execute("alice", "key:a", i < 63 ? CompletionOutcome.Fenced : CompletionOutcome.Stored, Lease(0.01 * i, 3 + (0.01 * i)));
        }

        var report = HistoryChecker.Check(_history);

        Assert.Equal(63, report.Duplicates);
        Assert.Equal(0, report.AllowedReexecutions);
        Assert.Equal(63, report.CountOf(ViolationKind.DuplicateExecution));
        Assert.Contains("may have lasted until 3.000 s", report.Violations[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lease_proven_to_have_ended_earns_exactly_one_more_execution()
    {
        var first = Execute("alice", "key:a", CompletionOutcome.Fenced, Lease(0, 2));
        var second = Execute("alice", "key:a", CompletionOutcome.Stored, Lease(3, 5));
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(6, 8));

        var report = HistoryChecker.Check(_history);

        var allowed = Assert.Single(report.Reexecutions);
        Assert.Equal((second.RequestId, first.RequestId), (allowed.RequestId, allowed.EarlierRequestId));
        Assert.Contains("had ended by 2.000 s, before request", allowed.Justification, StringComparison.Ordinal);
        Assert.Equal(1, report.Duplicates);
    }

    [Fact]
    public void A_later_execution_that_began_while_the_earlier_lease_may_still_have_been_live_is_a_duplicate()
    {
        Execute("alice", "key:a", CompletionOutcome.Fenced, Lease(0, 2));
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(1.999, 4));

        Assert.Equal(1, HistoryChecker.Check(_history).Duplicates);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(null)]
    public void A_failed_completion_that_landed_or_may_have_earns_nothing_however_long_ago_its_lease_ended(bool? landed)
    {
        Execute("alice", "key:a", CompletionOutcome.Failed, Lease(0, 2), landed);
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(60, 62));

        var report = HistoryChecker.Check(_history);

        Assert.Equal(1, report.Duplicates);
        Assert.Equal(0, report.AllowedReexecutions);
    }

    [Fact]
    public void A_release_answered_before_the_next_begin_frees_the_record_and_one_answered_after_it_does_not()
    {
        Execute("alice", "key:a", CompletionOutcome.Released, Lease(0, 3), completedAt: 0.5);
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(0.6, 3.6));
        Execute("bob", "key:a", CompletionOutcome.Released, Lease(0, 3), completedAt: 0.5);
        Execute("bob", "key:a", CompletionOutcome.Stored, Lease(0.4, 3.4));

        var report = HistoryChecker.Check(_history);

        Assert.Equal("alice", Assert.Single(report.Reexecutions).Principal);
        Assert.Equal("bob", Assert.Single(report.Violations).Principal);
    }

    [Fact]
    public void A_renewed_lease_lasts_until_its_last_accepted_renewal_plus_the_lease()
    {
        var renewed = Lease(0, 2);
        renewed.Extend(TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2));
        Execute("alice", "key:a", CompletionOutcome.Fenced, renewed);
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(3, 5));

        var again = Lease(0, 2);
        again.Extend(TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2));
        Execute("bob", "key:a", CompletionOutcome.Fenced, again);
        Execute("bob", "key:a", CompletionOutcome.Stored, Lease(3.5, 5.5));

        var report = HistoryChecker.Check(_history);

        Assert.Equal("alice", Assert.Single(report.Violations).Principal);
        Assert.Equal("bob", Assert.Single(report.Reexecutions).Principal);
    }

    [Fact]
    public void A_renewal_without_an_answer_leaves_the_end_of_the_lease_unknown_and_earns_nothing()
    {
        var lease = Lease(0, 2);
        lease.Forget();
        Execute("alice", "key:a", CompletionOutcome.Fenced, lease);
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(600, 602));

        Assert.Equal(1, HistoryChecker.Check(_history).Duplicates);
    }

    [Theory]
    [InlineData(false, 1, 0)]
    [InlineData(true, 0, 1)]
    public void The_stores_own_log_proves_an_expiry_within_the_recorders_uncertainty_unless_it_has_a_gap(bool gap, int allowed, int duplicates)
    {
        // The recorder saw the first begin answered 50 ms after the store acted on it, so its own bound (2.05 s) is
        // past the retry's start (2.0 s); the store's log shows the grant at 0.01 s and the retry's at 2.03 s.
        var log = new FakeCommandLog(gap);
        var first = Lease(0, 2.05, duration: 2);
        first.Logged(log, [TimeSpan.FromSeconds(0.01), TimeSpan.FromSeconds(0.02)]);
        var second = Lease(2.0, 4.1, duration: 2);
        second.Logged(log, [TimeSpan.FromSeconds(2.03)]);
        Execute("alice", "key:a", CompletionOutcome.Failed, first, landed: false);
        Execute("alice", "key:a", CompletionOutcome.Stored, second);

        var report = HistoryChecker.Check(_history);

        Assert.Equal(allowed, report.AllowedReexecutions);
        Assert.Equal(duplicates, report.Duplicates);
    }

    [Fact]
    public void Executions_without_lease_times_earn_nothing_even_when_fenced()
    {
        // Another process's executions (the crash harness's rows): the store's word alone proves no lease ended.
        Execute("alice", "key:a", CompletionOutcome.Fenced);
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(60, 62));

        Assert.Equal(1, HistoryChecker.Check(_history).Duplicates);
    }

    [Fact]
    public void A_replay_missing_a_header_the_record_keeps_or_carrying_another_value_is_a_mismatch()
    {
        var first = Execute("alice", "key:a", CompletionOutcome.Stored);
        first.Headers = [new("Location", first.Location), new("X-Chaos-Execution", "A/1")];
        Respond(first, replayed: true, headers: new Dictionary<string, string> { ["Location"] = first.Location });
        Respond(first, replayed: true, client: 2, headers: new Dictionary<string, string> { ["Location"] = first.Location, ["X-Chaos-Execution"] = "B/2" });
        Respond(first, replayed: true, client: 3, headers: new Dictionary<string, string> { ["location"] = first.Location, ["x-chaos-execution"] = "A/1" });

        var report = HistoryChecker.Check(_history);

        Assert.Equal(2, report.CountOf(ViolationKind.ReplayMismatch));
        Assert.Equal(2, report.Violations.Count);
    }

    [Fact]
    public void A_client_ending_on_a_refusal_lost_its_response_unless_it_is_hostile()
    {
        // A stream stuck on a gap after a restart: its client ends on 409 sequence-gap.
        _history.Add(Request(1, "alice", "seq:s#2") with { Status = 409, ProblemType = "urn:idempotency:sequence-gap" });
        _history.Add(Request(2, "alice", "key:large", client: 2) with { Status = 409, ProblemType = "urn:idempotency:idempotency-response-not-replayable", Hostile = true });

        var report = HistoryChecker.Check(_history);

        Assert.Equal(1, report.LostResponses);
        Assert.Equal("seq:s#2", Assert.Single(report.Violations).Operation);
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
        var late = Execute("alice", "key:a", CompletionOutcome.Fenced, Lease(0, 2));
        Execute("alice", "key:a", CompletionOutcome.Stored, Lease(3, 5));
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
        Succeed("alice", "key:a", attempt: 2);

        var report = HistoryChecker.Check(_history);

        Assert.Equal(ViolationKind.ServerError, Assert.Single(report.Violations).Kind);
        Assert.Equal(1, report.ServerErrors);
    }

    [Fact]
    public void A_503_without_Retry_After_is_caught_and_one_with_it_is_not()
    {
        _history.Add(Request(1, "alice", "key:a") with { Status = 503, ProblemType = "urn:idempotency:idempotency-store-unavailable", HasRetryAfter = false });
        _history.Add(Request(2, "alice", "key:a", attempt: 2) with { Status = 503, ProblemType = "urn:idempotency:idempotency-store-unavailable", HasRetryAfter = true });
        Succeed("alice", "key:a", attempt: 3);

        var report = HistoryChecker.Check(_history);

        Assert.Equal(ViolationKind.UnavailableWithoutRetryAfter, Assert.Single(report.Violations).Kind);
        Assert.Equal(2, report.Unavailable);
    }

    [Fact]
    public void A_409_in_flight_without_Retry_After_is_caught()
    {
        _history.Add(Request(1, "alice", "key:a") with { Status = 409, ProblemType = "urn:idempotency:idempotency-request-in-flight" });
        Succeed("alice", "key:a", attempt: 2);

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

    /// <summary>An execution, with the lease it ran under (times in seconds on the run's clock) and its completion.</summary>
    private ExecutionRecord Execute(string principal, string operation, CompletionOutcome completion, LeaseRecord? lease = null, bool? landed = null, double? completedAt = null)
    {
        var requestId = _history.NextRequestId();
        var body = Encoding.UTF8.GetBytes($"{{\"principal\":\"{principal}\",\"operation\":\"{operation}\",\"request\":{requestId}}}");
        var execution = _history.AddExecution(requestId, principal, operation, "A", 201, $"/ops/A/{requestId}", body);
        execution.Lease = lease;
        execution.Landed = landed;
        var answered = TimeSpan.FromSeconds(completedAt ?? lease?.GrantedAfter.TotalSeconds ?? 0);
        execution.Complete(completion, answered, answered);
        return execution;
    }

    private static LeaseRecord Lease(double grantedAfter, double end, double duration = 0)
        => new(TimeSpan.FromSeconds(grantedAfter), TimeSpan.FromSeconds(end), TimeSpan.FromSeconds(duration));

    private sealed class FakeCommandLog(bool gap) : IStoreCommandLog
    {
        public bool Covers(TimeSpan from, TimeSpan to) => !gap;

        public IReadOnlyList<TimeSpan> TimesOf(long token) => [];
    }

    /// <summary>A logical client's final attempt that ran its own execution and got its response.</summary>
    private void Succeed(string principal, string operation, int attempt)
        => Respond(Execute(principal, operation, CompletionOutcome.Stored), replayed: false, attempt: attempt);

    private void Respond(ExecutionRecord execution, bool replayed, byte[]? body = null, string? location = null, int client = 1, int attempt = 1, Dictionary<string, string>? headers = null)
        => _history.Add(Request(replayed ? _history.NextRequestId() : execution.RequestId, execution.Principal, execution.Operation, client, attempt) with
        {
            Status = execution.Status,
            Replayed = replayed,
            Location = location ?? execution.Location,
            Body = body ?? execution.Body,
            Headers = new Dictionary<string, string>(headers ?? [], StringComparer.OrdinalIgnoreCase),
        });

    private static RequestRecord Request(long id, string principal, string operation, long client = 1, int attempt = 1)
        => new() { RequestId = id, Principal = principal, Operation = operation, LogicalClient = client, Attempt = attempt, Instance = "A" };
}
