using System.Net;
using Idempotency.Tests.Infrastructure;
using Idempotency.Testing;

namespace Idempotency.Tests.Middleware;

/// <summary>One test (or more) per row of the sequence-mode outcome table in docs/contract.md §4.</summary>
public sealed class SequenceModeOutcomeTests
{
    [Fact]
    public async Task Missing_number_on_a_policy_that_requires_it_returns_428_without_store_call()
    {
        await using var app = await TestApp.StartAsync();

        var response = await app.Client.SendAsync(TestApp.Sequenced("/seq", number: null, key: "k"));

        await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)428, "sequence-number-missing");
        Assert.Equal(0, app.Store.TotalCalls);
        Assert.Equal(0, app.Handlers.Executions("seq"));
    }

    [Theory]
    [InlineData("Sequence-Number", "abc")]
    [InlineData("Sequence-Number", "0")]
    [InlineData("Sequence-Number", "-1")]
    [InlineData("Sequence-Number", "9223372036854775808")]
    [InlineData("Sequence-Epoch", "-1")]
    [InlineData("Sequence-Epoch", "x")]
    [InlineData("Sequence-Stream", "has space")]
    public async Task Malformed_sequence_headers_return_400_without_store_call(string header, string value)
    {
        await using var app = await TestApp.StartAsync();
        var request = TestApp.Sequenced("/seq", number: header == "Sequence-Number" ? null : 1);
        request.Headers.TryAddWithoutValidation(header, value);

        var response = await app.Client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "sequence-number-invalid");
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task Next_number_runs_the_handler_and_numbers_apply_in_order()
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1));
        var second = await app.Client.SendAsync(TestApp.Sequenced("/seq", 2));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(["1", "2"], app.Handlers.Applied);
    }

    [Fact]
    public async Task Retry_of_an_applied_number_in_the_window_replays_its_response()
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1));
        await app.Client.SendAsync(TestApp.Sequenced("/seq", 2));
        var retry = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(2, app.Handlers.Executions("seq"));
    }

    [Fact]
    public async Task Applied_number_with_a_different_body_returns_422()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, body: "{\"amount\":1}"));
        var reused = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, body: "{\"amount\":2}"));

        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task Idempotency_key_sent_with_a_number_is_part_of_the_fingerprint()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, key: "a"));
        var sameKey = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, key: "a"));
        var otherKey = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, key: "b"));

        Assert.True(sameKey.Headers.Contains("Idempotent-Replayed"));
        await ProblemAssert.IsProblemAsync(otherKey, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task Number_that_left_the_window_returns_409_already_applied_and_never_runs_again()
    {
        await using var app = await TestApp.StartAsync();
        for (var n = 1; n <= 5; n++)
        {
            await app.Client.SendAsync(TestApp.Sequenced("/seq", n));
        }

        var stale = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1));
        var inWindow = await app.Client.SendAsync(TestApp.Sequenced("/seq", 3));

        var problem = await ProblemAssert.IsProblemAsync(stale, HttpStatusCode.Conflict, "sequence-already-applied");
        Assert.Equal(5, problem.GetProperty("lastSequence").GetInt64());
        Assert.True(inWindow.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(5, app.Handlers.Executions("seq"));
    }

    [Fact]
    public async Task Number_beyond_the_next_returns_409_gap_with_expected_and_last()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.SendAsync(TestApp.Sequenced("/seq", 1));

        var early = await app.Client.SendAsync(TestApp.Sequenced("/seq", 3));

        var problem = await ProblemAssert.IsProblemAsync(early, HttpStatusCode.Conflict, "sequence-gap");
        Assert.Equal(2, problem.GetProperty("expectedSequence").GetInt64());
        Assert.Equal(1, problem.GetProperty("lastSequence").GetInt64());
        Assert.Equal(1, app.Handlers.Executions("seq"));
    }

    [Fact]
    public async Task Same_number_while_in_flight_returns_409_in_flight_with_retry_after()
    {
        await using var app = await TestApp.StartAsync();
        var original = app.Client.SendAsync(TestApp.Sequenced("/seq-gate", 1));
        await app.Handlers.GateEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var duplicate = await app.Client.SendAsync(TestApp.Sequenced("/seq-gate", 1));

        await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, "idempotency-request-in-flight");
        Assert.NotNull(duplicate.Headers.RetryAfter);
        app.Handlers.Gate.SetResult();
        await original;
        Assert.Equal(1, app.Handlers.Executions("seq-gate"));
    }

    [Fact]
    public async Task Handler_failure_releases_the_slot_and_leaves_last_unchanged()
    {
        await using var app = await TestApp.StartAsync();

        var failed = await app.Client.SendAsync(TestApp.Sequenced("/seq-status/500", 1));
        var retried = await app.Client.SendAsync(TestApp.Sequenced("/seq-status/500", 1));
        var gap = await app.Client.SendAsync(TestApp.Sequenced("/seq-status/201", 2));

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("seq 1 status 500 execution 2", await retried.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(gap, HttpStatusCode.Conflict, "sequence-gap");
    }

    [Fact]
    public async Task Stored_4xx_answer_applies_the_number_and_replays()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Sequenced("/seq-status/422", 1));
        var retry = await app.Client.SendAsync(TestApp.Sequenced("/seq-status/422", 1));
        var next = await app.Client.SendAsync(TestApp.Sequenced("/seq-status/201", 2));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
    }

    [Fact]
    public async Task Older_epoch_is_fenced_with_current_epoch_after_a_newer_epoch_applied()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, epoch: 0));
        await app.Client.SendAsync(TestApp.Sequenced("/seq", 2, epoch: 0));

        var restarted = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, epoch: 1));
        var oldIncarnation = await app.Client.SendAsync(TestApp.Sequenced("/seq", 3, epoch: 0));

        Assert.Equal(HttpStatusCode.Created, restarted.StatusCode);
        Assert.False(restarted.Headers.Contains("Idempotent-Replayed"));
        var problem = await ProblemAssert.IsProblemAsync(oldIncarnation, HttpStatusCode.Conflict, "sequence-epoch-fenced");
        Assert.Equal(1, problem.GetProperty("currentEpoch").GetInt64());
    }

    [Fact]
    public async Task Newer_epoch_starts_over_at_one()
    {
        await using var app = await TestApp.StartAsync();
        await app.Client.SendAsync(TestApp.Sequenced("/seq", 1));
        await app.Client.SendAsync(TestApp.Sequenced("/seq", 2));

        var skipped = await app.Client.SendAsync(TestApp.Sequenced("/seq", 3, epoch: 7));

        var problem = await ProblemAssert.IsProblemAsync(skipped, HttpStatusCode.Conflict, "sequence-gap");
        Assert.Equal(1, problem.GetProperty("expectedSequence").GetInt64());
    }

    [Fact]
    public async Task Streams_are_independent_and_default_to_one_stream_per_principal()
    {
        await using var app = await TestApp.StartAsync();

        var a1 = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, stream: "a"));
        var b1 = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, stream: "b"));
        var default1 = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1));
        var bob1 = await app.Client.SendAsync(TestApp.Sequenced("/seq", 1, user: "bob"));

        Assert.All([a1, b1, default1, bob1], r => Assert.False(r.Headers.Contains("Idempotent-Replayed")));
        Assert.Equal(4, app.Handlers.Executions("seq"));
    }

    [Fact]
    public async Task Stream_resolver_takes_the_stream_from_the_route()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Sequenced("/accounts/acc-1/seq", 1));
        var otherAccount = await app.Client.SendAsync(TestApp.Sequenced("/accounts/acc-2/seq", 1));
        var gap = await app.Client.SendAsync(TestApp.Sequenced("/accounts/acc-1/seq", 3));

        Assert.Equal(HttpStatusCode.OK, otherAccount.StatusCode);
        await ProblemAssert.IsProblemAsync(gap, HttpStatusCode.Conflict, "sequence-gap");
    }

    [Fact]
    public async Task A_route_value_that_is_not_ascii_is_a_valid_stream()
    {
        await using var app = await TestApp.StartAsync();

        var first = await app.Client.SendAsync(TestApp.Sequenced("/accounts/z%C3%BCrich/seq", 1));
        var retry = await app.Client.SendAsync(TestApp.Sequenced("/accounts/z%C3%BCrich/seq", 1));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task A_resolved_stream_that_is_too_long_is_blamed_on_the_request_not_the_sequence_headers()
    {
        await using var app = await TestApp.StartAsync();

        var response = await app.Client.SendAsync(TestApp.Sequenced($"/accounts/{new string('a', 1025)}/seq", 1));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "sequence-stream-invalid");
        Assert.DoesNotContain("Sequence-Number", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, app.Store.TotalCalls);
    }

    [Fact]
    public async Task Optional_sequence_falls_back_to_key_mode_without_a_number()
    {
        await using var app = await TestApp.StartAsync();

        await app.Client.SendAsync(TestApp.Sequenced("/seq-optional", number: null, key: "k"));
        var keyRetry = await app.Client.SendAsync(TestApp.Sequenced("/seq-optional", number: null, key: "k"));
        var numbered = await app.Client.SendAsync(TestApp.Sequenced("/seq-optional", 1));

        Assert.True(keyRetry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.OK, numbered.StatusCode);
        Assert.Equal(2, app.Handlers.Executions("seq-optional"));
    }

    [Fact]
    public async Task Reorder_wait_holds_an_early_number_until_the_gap_fills()
    {
        await using var app = await TestApp.StartAsync();

        var early = app.Client.SendAsync(TestApp.Sequenced("/seq-reorder", 2));
        await Task.Delay(100);
        Assert.False(early.IsCompleted);
        var first = await app.Client.SendAsync(TestApp.Sequenced("/seq-reorder", 1));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await early).StatusCode);
        Assert.Equal(["1", "2"], app.Handlers.Applied);
    }

    [Fact]
    public async Task Shuffled_duplicated_concurrent_numbers_apply_exactly_once_in_order()
    {
        await using var app = await TestApp.StartAsync();
        const int count = 30;
        var acknowledged = new bool[count + 1];
        var remaining = count;
        var deadline = DateTime.UtcNow.AddSeconds(60);

        // Four clients share one stream's outbox: each keeps sending a random unacknowledged number (so numbers are
        // reordered and, when two clients pick the same one, duplicated) until the server has acknowledged all.
        var workers = new Task[4];
        for (var w = 0; w < workers.Length; w++)
        {
            var random = new Random(w);
            workers[w] = Task.Run(async () =>
            {
                while (Volatile.Read(ref remaining) > 0)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the stream did not converge in time");
                    var n = PickUnacknowledged(acknowledged, random);
                    if (n == 0)
                    {
                        continue;
                    }

                    var response = await app.Client.SendAsync(TestApp.Sequenced("/seq", n, body: $"{{\"n\":{n}}}"));
                    var text = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        Assert.StartsWith($"seq {n} ", text, StringComparison.Ordinal);
                        lock (acknowledged)
                        {
                            if (!acknowledged[n])
                            {
                                acknowledged[n] = true;
                                remaining--;
                            }
                        }

                        continue;
                    }

                    Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
                    Assert.True(
                        text.Contains("sequence-gap", StringComparison.Ordinal)
                        || text.Contains("request-in-flight", StringComparison.Ordinal)
                        || text.Contains("sequence-already-applied", StringComparison.Ordinal),
                        text);
                }
            });
        }

        await Task.WhenAll(workers);

        var expected = new string[count];
        for (var n = 1; n <= count; n++)
        {
            expected[n - 1] = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.Equal(expected, app.Handlers.Applied);
    }

    private static int PickUnacknowledged(bool[] acknowledged, Random random)
    {
        lock (acknowledged)
        {
            var pending = new List<int>();
            for (var n = 1; n < acknowledged.Length; n++)
            {
                if (!acknowledged[n])
                {
                    pending.Add(n);
                }
            }

            return pending.Count == 0 ? 0 : pending[random.Next(pending.Count)];
        }
    }
}
