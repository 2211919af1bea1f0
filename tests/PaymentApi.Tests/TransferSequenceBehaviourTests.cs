using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using Xunit.Sdk;
using static PaymentApi.Tests.PaymentRequests;
using static PaymentApi.Tests.TransferRequests;

namespace PaymentApi.Tests;

/// <summary>
/// docs/contract.md §4 as the sample's clients see it: the README's walkthrough and the promise that numbered transfers are
/// applied in order, exactly once, however they arrive. These need the middleware's sequence mode (replays carry
/// <c>Idempotent-Replayed: true</c>; a duplicate never reaches the handler). Where the ledger gives the same answer
/// as the middleware (a gap, a reused number, a bad header), a test passes without it too.
/// </summary>
public sealed class TransferSequenceBehaviourTests(PaymentApiFactory factory, ITestOutputHelper output) : IClassFixture<PaymentApiFactory>
{
    private const string InFlightType = "urn:idempotency:idempotency-request-in-flight";
    private const string GapType = "urn:idempotency:sequence-gap";

    // Retry-After says 1 s for a request in flight; the test waits at most this long so it stays fast.
    private static readonly TimeSpan MaxRetryWait = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task Walkthrough_1_number_1_is_201()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);

        using var response = await client.PostTransferAsync(NewAccountId(), 1, TransferBody(amount: 100));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(response.IsReplayed());
        Assert.Equal(1, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sequence").GetInt64());
    }

    [Fact]
    public async Task Walkthrough_2_number_1_sent_again_replays_the_first_response()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        using var first = await client.PostTransferAsync(account, 1, TransferBody(amount: 100));

        using var retry = await client.PostTransferAsync(account, 1, TransferBody(amount: 100));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.IsReplayed());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
        Assert.Single(await ReadTransferRowsAsync(factory.DatabasePath, account));
        Assert.Equal(99_900, (await client.GetAccountAsync(account)).Balance());
    }

    [Fact]
    public async Task Walkthrough_3_number_3_after_1_is_409_sequence_gap_expecting_2()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1, amount: 100);

        using var early = await client.PostTransferAsync(account, 3, TransferBody(amount: 300));

        var problem = await AssertProblemAsync(early, HttpStatusCode.Conflict, GapType);
        Assert.Equal(2, problem.GetProperty("expectedSequence").GetInt64());
        Assert.Equal(1, problem.GetProperty("lastSequence").GetInt64());
        Assert.Equal(1, (await client.GetAccountAsync(account)).LastSequence());
    }

    [Fact]
    public async Task Walkthrough_4_to_6_numbers_2_and_3_after_the_gap_are_201_and_the_account_shows_lastSequence_3()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1, amount: 100);
        using var early = await client.PostTransferAsync(account, 3, TransferBody(amount: 300));
        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);

        using var second = await client.PostTransferAsync(account, 2, TransferBody(amount: 200));
        using var third = await client.PostTransferAsync(account, 3, TransferBody(amount: 300));

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(HttpStatusCode.Created, third.StatusCode);
        Assert.False(third.IsReplayed());
        var state = await client.GetAccountAsync(account);
        Assert.Equal(3, state.LastSequence());
        Assert.Equal(OpeningBalance - 600, state.Balance());
        Assert.Equal([1L, 2L, 3L], (await ReadTransferRowsAsync(factory.DatabasePath, account)).Select(row => row.Sequence));
    }

    [Fact]
    public async Task Walkthrough_7_a_transfer_without_a_number_is_428_sequence_number_missing_and_applies_nothing()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();

        using var response = await client.PostTransferAsync(account, sequenceNumber: null, TransferBody());

        await AssertProblemAsync(response, (HttpStatusCode)428, "urn:idempotency:sequence-number-missing");
        using var read = await client.GetAsync($"/accounts/{account}");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.0")]
    [InlineData("1 2")]
    [InlineData("9223372036854775808")]
    public async Task Walkthrough_8_a_malformed_number_is_400_sequence_number_invalid_and_applies_nothing(string number)
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();

        using var response = await client.PostTransferAsync(account, number, TransferBody());

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:idempotency:sequence-number-invalid");
        using var read = await client.GetAsync($"/accounts/{account}");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task Insufficient_funds_sent_again_replays_the_stored_422_and_the_next_number_goes_on()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        using var declined = await client.PostTransferAsync(account, 1, TransferBody(amount: 150_000));

        using var retry = await client.PostTransferAsync(account, 1, TransferBody(amount: 150_000));

        await AssertProblemAsync(declined, HttpStatusCode.UnprocessableEntity, "urn:paymentapi:insufficient-funds");
        Assert.False(declined.IsReplayed());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, retry.StatusCode);
        Assert.True(retry.IsReplayed());
        Assert.Equal(await declined.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());

        // The decline used up number 1 in the middleware and in the ledger alike.
        await client.TransferAsync(account, 2, amount: 100);
        var state = await client.GetAccountAsync(account);
        Assert.Equal(2, state.LastSequence());
        Assert.Equal(99_900, state.Balance());
    }

    [Fact]
    public async Task A_resent_number_with_reordered_JSON_is_a_replay()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        using var first = await client.PostTransferAsync(account, 1, """{"to":"payee-1","amount":100}""");

        using var retry = await client.PostTransferAsync(account, 1, """
            {
              "amount" : 100,
              "to" : "payee-1"
            }
            """);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.IsReplayed());
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_resent_number_with_another_transfer_is_422_and_changes_nothing()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        await client.TransferAsync(account, 1, amount: 100);

        using var reused = await client.PostTransferAsync(account, 1, TransferBody(amount: 5_000));

        await AssertProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "urn:idempotency:idempotency-key-reused");
        Assert.Equal(99_900, (await client.GetAccountAsync(account)).Balance());
    }

    [Fact]
    public async Task A_validation_error_does_not_use_up_its_number()
    {
        using var client = factory.CreateClient(PaymentApiFactory.AliceKey);
        var account = NewAccountId();
        using var invalid = await client.PostTransferAsync(account, 1, TransferBody(amount: 0));
        await AssertProblemAsync(invalid, HttpStatusCode.BadRequest);

        using var corrected = await client.PostTransferAsync(account, 1, TransferBody(amount: 100));

        Assert.Equal(HttpStatusCode.Created, corrected.StatusCode);
        Assert.False(corrected.IsReplayed());
        Assert.Equal(1, (await client.GetAccountAsync(account)).LastSequence());
    }

    [Fact]
    public async Task Forty_transfers_shuffled_duplicated_and_sent_concurrently_are_applied_exactly_once_in_order()
    {
        const int count = 40;
        const int clients = 4;
        var seed = Random.Shared.Next();
        output.WriteLine($"Random seed: {seed}");
        var random = new Random(seed);

        var account = NewAccountId();
        var amounts = Enumerable.Range(0, count).Select(_ => (long)random.Next(1, 2_000)).ToArray();
        var bodies = amounts.Select(amount => TransferBody(amount)).ToArray();

        // The numbers in random order, each to be sent 2 or 3 times.
        var order = Enumerable.Range(1, count).ToArray();
        random.Shuffle(order);
        var copies = order.ToDictionary(number => number, _ => random.Next(2, 4));
        var pending = new ConcurrentQueue<int>(order);
        var outstanding = count;
        var answers = new ConcurrentBag<Answer>();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var httpClients = Enumerable.Range(0, clients).Select(_ => factory.CreateClient(PaymentApiFactory.AliceKey)).ToArray();
        try
        {
            await Task.WhenAll(httpClients.Select(client => Task.Run(() => SendAllAsync(client), timeout.Token)));
        }
        finally
        {
            foreach (var client in httpClients)
            {
                client.Dispose();
            }
        }

        // Every number: one original 201 and byte-identical replays of it, one per further copy.
        Assert.Equal(count, answers.Select(answer => answer.Number).Distinct().Count());
        foreach (var group in answers.GroupBy(answer => answer.Number))
        {
            var original = Assert.Single(group, answer => !answer.Replayed);
            Assert.Equal(copies[group.Key], group.Count());
            Assert.All(group, answer =>
            {
                Assert.Equal(original.Location, answer.Location);
                Assert.Equal(original.Body, answer.Body);
            });
            var transfer = JsonDocument.Parse(original.Body).RootElement;
            Assert.Equal(group.Key, transfer.GetProperty("sequence").GetInt64());
            Assert.Equal(amounts[group.Key - 1], transfer.GetProperty("amount").GetInt64());
        }

        // The ledger applied 1..N once each, in that order.
        var rows = await ReadTransferRowsAsync(factory.DatabasePath, account);
        Assert.Equal(Enumerable.Range(1, count).Select(number => (long)number), rows.Select(row => row.Sequence));
        Assert.Equal(amounts, rows.Select(row => row.Amount));
        using var reader = factory.CreateClient(PaymentApiFactory.AliceKey);
        var state = await reader.GetAccountAsync(account);
        Assert.Equal(count, state.LastSequence());
        Assert.Equal(OpeningBalance - amounts.Sum(), state.Balance());

        // One of the four clients. It takes the next number from the shared queue and sends all its copies at once,
        // as a client that timed out and retried before the first answer came back. A number whose turn has not
        // come (409 sequence-gap for every copy) goes back to the end of the queue. Keeping a number's copies
        // together keeps their replays well inside the middleware's window of 16: copies scattered through the
        // queue can arrive after more than 16 later numbers and get 409 sequence-already-applied instead.
        async Task SendAllAsync(HttpClient client)
        {
            while (Volatile.Read(ref outstanding) > 0)
            {
                if (!pending.TryDequeue(out var number))
                {
                    // The remaining numbers are with the other clients right now; one of them may come back.
                    await Task.Delay(1, timeout.Token);
                    continue;
                }

                var answered = await Task.WhenAll(Enumerable.Range(0, copies[number]).Select(_ => SendUntilAnsweredAsync(client, number)));
                if (!answered.Any(created => created))
                {
                    pending.Enqueue(number);
                    await Task.Delay(1, timeout.Token);
                    continue;
                }

                // A copy turned away by the gap just before a sibling was applied is sent again: now it is a replay.
                foreach (var _ in answered.Where(created => !created))
                {
                    Assert.True(await SendUntilAnsweredAsync(client, number), $"Transfer {number} was applied, then reported as a gap (random seed {seed}).");
                }

                Interlocked.Decrement(ref outstanding);
            }
        }

        // Sends one copy until it is answered 201 (true) or 409 sequence-gap (false), waiting out a copy in flight.
        async Task<bool> SendUntilAnsweredAsync(HttpClient client, int number)
        {
            while (true)
            {
                using var response = await client.PostTransferAsync(account, number, bodies[number - 1], timeout.Token);
                var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    answers.Add(new Answer(number, response.IsReplayed(), response.Headers.Location?.OriginalString, body));
                    return true;
                }

                var type = response.StatusCode == HttpStatusCode.Conflict ? ProblemType(body) : null;
                if (type == GapType)
                {
                    return false;
                }

                if (type != InFlightType)
                {
                    throw new XunitException($"Transfer {number} got {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)} (random seed {seed}).");
                }

                var wait = response.Headers.RetryAfter?.Delta ?? MaxRetryWait;
                await Task.Delay(wait < MaxRetryWait ? wait : MaxRetryWait, timeout.Token);
            }
        }
    }

    private static string? ProblemType(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body).RootElement.TryGetProperty("type", out var type) ? type.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Answer(int Number, bool Replayed, string? Location, byte[] Body);
}
