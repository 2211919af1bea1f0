using System.Diagnostics;
using System.Text;
using Idempotency.Storage;
using Microsoft.Extensions.Primitives;
using Xunit;

namespace Idempotency.Testing;

/// <summary>
/// The keyed-record half of the store contract (<see cref="IIdempotencyStore"/>) as executable tests, for every store.
/// Derive a class from this one in the store's test project, once per store configuration, and implement
/// <see cref="CreateStoreAsync"/> and <see cref="AdvanceTimeAsync"/>; every test here then runs against the store.
/// A store that also keeps sequence streams derives from <see cref="SequenceStoreConformanceTests"/> as well.
/// </summary>
/// <remarks>
/// Real-time stores implement <see cref="AdvanceTimeAsync"/> by waiting, so a test lets time pass only in multiples of
/// <see cref="ShortLease"/>, never asserts at an exact expiry boundary, and keeps to about two leases of waiting.
/// Leases and retentions that must not expire during a test are <see cref="LongLease"/>, far beyond any test's duration.
/// </remarks>
public abstract partial class IdempotencyStoreConformanceTests
{
    /// <summary>A lease or retention no test outlives, even on a slow machine against a real server.</summary>
    protected static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);

    /// <summary>A fresh store whose records are isolated from other tests (for example by a unique key prefix).</summary>
    protected abstract Task<IIdempotencyStore> CreateStoreAsync();

    /// <summary>Lets at least <paramref name="duration"/> pass on the store's clock (fake clock, or real waiting).</summary>
    protected abstract Task AdvanceTimeAsync(TimeSpan duration);

    /// <summary>A lease short enough to let expire in a test, long enough that it does not expire by accident.</summary>
    protected virtual TimeSpan ShortLease => TimeSpan.FromMilliseconds(500);

    protected static string NewKey() => Guid.NewGuid().ToString("N");

    protected static byte[] Fingerprint(byte seed)
    {
        var fingerprint = new byte[32];
        fingerprint.AsSpan().Fill(seed);
        return fingerprint;
    }

    // ---- begin ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task First_begin_acquires_with_a_nonzero_token()
    {
        var store = await CreateStoreAsync();

        var result = await store.TryBeginAsync(NewKey(), Fingerprint(1), TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.Acquired, result.Status);
        Assert.NotEqual(0, result.FencingToken);
    }

    [Fact]
    public async Task Begin_with_the_same_fingerprint_while_in_flight_reports_in_flight()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        await AcquireAsync(store, key, Fingerprint(1));

        var second = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.InFlight, second.Status);
        Assert.Equal(0, second.FencingToken);
        Assert.Null(second.Response);
    }

    [Fact]
    public async Task Begin_with_another_fingerprint_while_in_flight_reports_a_mismatch_before_in_flight()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        await AcquireAsync(store, key, Fingerprint(1));

        var second = await store.TryBeginAsync(key, Fingerprint(2), LongLease, CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.FingerprintMismatch, second.Status);
    }

    [Fact]
    public async Task A_fingerprint_differing_only_in_its_last_byte_is_a_mismatch()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        await AcquireAsync(store, key, Fingerprint(1));
        var almostTheSame = Fingerprint(1);
        almostTheSame[^1] = 2;

        var second = await store.TryBeginAsync(key, almostTheSame, LongLease, CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.FingerprintMismatch, second.Status);
    }

    [Fact]
    public async Task Begin_keeps_its_own_copy_of_the_fingerprint()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var pooledBuffer = Fingerprint(1);
        await AcquireAsync(store, key, pooledBuffer);

        pooledBuffer.AsSpan().Fill(9);
        var second = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.InFlight, second.Status);
    }

    [Fact]
    public async Task Rejected_begins_leave_the_owner_in_charge()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));
        await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        await store.TryBeginAsync(key, Fingerprint(2), LongLease, CancellationToken.None);
        var response = TextResponse(201, "owner");

        Assert.True(await store.CompleteAsync(key, token, response, LongLease, CancellationToken.None));

        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    // ---- complete and replay ----------------------------------------------------------------------------------

    [Fact]
    public async Task Complete_by_the_owner_stores_the_response_for_replay()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));
        var response = new StoredResponse(
            201,
            [new("Content-Type", "application/json"), new("Location", "/payments/42")],
            Encoding.UTF8.GetBytes("""{"id":42}"""));

        var completed = await store.CompleteAsync(key, token, response, LongLease, CancellationToken.None);

        Assert.True(completed);
        var replay = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        AssertReplays(response, replay);
        Assert.Equal(0, replay.FencingToken);
    }

    [Fact]
    public async Task Begin_with_another_fingerprint_after_completion_reports_a_mismatch()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        await CompleteNewAsync(store, key, Fingerprint(1), TextResponse(200, "done"), LongLease);

        var other = await store.TryBeginAsync(key, Fingerprint(2), LongLease, CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.FingerprintMismatch, other.Status);
        Assert.Null(other.Response);
    }

    [Fact]
    public async Task Headers_replay_in_order_with_repeated_names_and_multiple_values()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var response = new StoredResponse(
            200,
            [
                new("X-Zeta", "last-alphabetically-first-in-order"),
                new("Link", new StringValues(["</a>; rel=\"next\"", "</b>; rel=\"prev\"", "</c>; rel=\"last\""])),
                new("X-Empty", ""),
                new("Cache-Control", "no-store"),
                new("X-Repeated", "one"),
                new("Vary", new StringValues(["Accept", "Accept-Encoding"])),
                new("X-Repeated", "two"),
                new("X-Alpha", "a"),
            ],
            Encoding.UTF8.GetBytes("ok"));

        await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task Header_values_with_non_ascii_text_replay_unchanged()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var response = new StoredResponse(
            200,
            [
                new("X-Latin", "café crème, naïve façade"),
                new("X-Cjk", new StringValues(["日本語のテキスト", "中文"])),
                new("X-Emoji", "paid 🙂 with 💶"),
                new("Content-Disposition", "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf; filename=\"résumé.pdf\""),
            ],
            Encoding.UTF8.GetBytes("ok"));

        await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task A_response_without_its_body_replays_as_not_stored_with_its_status()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var response = new StoredResponse(202, [new("Location", "/jobs/7")], ReadOnlyMemory<byte>.Empty, isBodyStored: false);

        await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        var replay = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Completed, replay.Status);
        Assert.False(replay.Response!.IsBodyStored);
        Assert.Equal(202, replay.Response.StatusCode);
        Assert.True(replay.Response.Body.IsEmpty);
    }

    [Fact]
    public async Task An_empty_body_replays_as_stored_and_empty()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var response = new StoredResponse(204, [], ReadOnlyMemory<byte>.Empty);

        await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        var replay = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        AssertReplays(response, replay);
        Assert.True(replay.Response!.IsBodyStored);
    }

    [Fact]
    public async Task A_large_body_replays_byte_for_byte()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var body = new byte[256 * 1024];
        new Random(42).NextBytes(body);
        var response = new StoredResponse(200, [new("Content-Type", "application/octet-stream")], body);

        await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task A_binary_body_with_every_byte_value_replays_byte_for_byte()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var body = new byte[512];
        for (var i = 0; i < body.Length; i++)
        {
            // Both orders, so a store that stops at a zero byte or mangles invalid UTF-8 shows it.
            body[i] = (byte)(i < 256 ? i : 511 - i);
        }

        var response = new StoredResponse(200, [new("Content-Type", "application/octet-stream")], body);

        await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task Complete_twice_returns_false_and_keeps_the_first_response()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));
        var first = TextResponse(201, "first");
        Assert.True(await store.CompleteAsync(key, token, first, LongLease, CancellationToken.None));

        var again = await store.CompleteAsync(key, token, TextResponse(200, "second"), LongLease, CancellationToken.None);

        Assert.False(again);
        AssertReplays(first, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task Complete_with_a_wrong_token_while_in_flight_writes_nothing()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));

        var completed = await store.CompleteAsync(key, token + 1, TextResponse(200, "intruder"), LongLease, CancellationToken.None);

        Assert.False(completed);
        Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None)).Status);
        var owners = TextResponse(201, "owner");
        Assert.True(await store.CompleteAsync(key, token, owners, LongLease, CancellationToken.None));
        AssertReplays(owners, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    // ---- release ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Release_by_the_owner_lets_the_next_begin_acquire_with_a_new_token()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));

        var released = await store.ReleaseAsync(key, token, CancellationToken.None);

        Assert.True(released);
        var next = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, next.Status);
        Assert.NotEqual(0, next.FencingToken);
        Assert.NotEqual(token, next.FencingToken);
    }

    [Fact]
    public async Task Release_forgets_the_fingerprint()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));
        Assert.True(await store.ReleaseAsync(key, token, CancellationToken.None));

        var other = await store.TryBeginAsync(key, Fingerprint(2), LongLease, CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.Acquired, other.Status);
    }

    [Fact]
    public async Task Release_with_a_wrong_token_changes_nothing()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));

        var released = await store.ReleaseAsync(key, token + 1, CancellationToken.None);

        Assert.False(released);
        Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None)).Status);
        Assert.True(await store.ReleaseAsync(key, token, CancellationToken.None));
    }

    [Fact]
    public async Task Release_after_complete_returns_false_and_keeps_the_response()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var response = TextResponse(201, "kept");
        var token = await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        var released = await store.ReleaseAsync(key, token, CancellationToken.None);

        Assert.False(released);
        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task A_released_token_has_no_power_over_the_next_owners_record()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var first = await AcquireAsync(store, key, Fingerprint(1));
        Assert.True(await store.ReleaseAsync(key, first, CancellationToken.None));
        var second = await AcquireAsync(store, key, Fingerprint(1));

        Assert.False(await store.RenewLeaseAsync(key, first, LongLease, CancellationToken.None));
        Assert.False(await store.CompleteAsync(key, first, TextResponse(200, "stale"), LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseAsync(key, first, CancellationToken.None));

        Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None)).Status);
        var current = TextResponse(201, "current");
        Assert.True(await store.CompleteAsync(key, second, current, LongLease, CancellationToken.None));
        AssertReplays(current, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    // ---- renew ----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Renew_by_the_owner_keeps_the_record_in_flight_past_the_original_lease()
    {
        var store = await CreateStoreAsync();
        await OnTimeAttempts.RunAsync(async sinceBegin =>
        {
            var key = NewKey();
            var token = await AcquireAsync(store, key, Fingerprint(1), ShortLease);
            await AdvanceTimeAsync(ShortLease / 4);

            var sinceRenewal = Stopwatch.StartNew();
            var renewed = await store.RenewLeaseAsync(key, token, ShortLease * 4, CancellationToken.None);
            if (sinceBegin.Elapsed >= ShortLease)
            {
                return false;
            }

            Assert.True(renewed);
            // Now at least 1.5 leases after begin (past the original end), and far from the renewed end (4.25 leases).
            await AdvanceTimeAsync(ShortLease * 1.25);
            var check = await store.TryBeginAsync(key, Fingerprint(1), ShortLease, CancellationToken.None);
            if (sinceRenewal.Elapsed >= ShortLease * 4)
            {
                return false;
            }

            Assert.Equal(IdempotencyBeginStatus.InFlight, check.Status);
            Assert.True(await store.CompleteAsync(key, token, TextResponse(201, "done"), LongLease, CancellationToken.None));
            return true;
        });
    }

    [Fact]
    public async Task A_renewed_lease_still_expires()
    {
        var store = await CreateStoreAsync();
        var key = string.Empty;
        var token = 0L;
        await OnTimeAttempts.RunAsync(async sinceBegin =>
        {
            key = NewKey();
            token = await AcquireAsync(store, key, Fingerprint(1), ShortLease);
            var renewed = await store.RenewLeaseAsync(key, token, ShortLease, CancellationToken.None);
            if (sinceBegin.Elapsed >= ShortLease)
            {
                return false;
            }

            Assert.True(renewed);
            return true;
        });

        await AdvanceTimeAsync(ShortLease * 2);

        var next = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, next.Status);
        Assert.NotEqual(token, next.FencingToken);
    }

    [Fact]
    public async Task Renew_with_a_wrong_token_returns_false()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));

        var renewed = await store.RenewLeaseAsync(key, token + 1, LongLease, CancellationToken.None);

        Assert.False(renewed);
        Assert.True(await store.CompleteAsync(key, token, TextResponse(201, "owner"), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task Renew_after_complete_returns_false_and_keeps_the_response()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var response = TextResponse(201, "kept");
        var token = await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        var renewed = await store.RenewLeaseAsync(key, token, LongLease, CancellationToken.None);

        Assert.False(renewed);
        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    // ---- missing keys -------------------------------------------------------------------------------------------

    [Fact]
    public async Task Operations_on_a_missing_key_return_false_and_create_nothing()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();

        Assert.False(await store.CompleteAsync(key, 1, TextResponse(200, "ghost"), LongLease, CancellationToken.None));
        Assert.False(await store.RenewLeaseAsync(key, 1, LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseAsync(key, 1, CancellationToken.None));

        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None)).Status);
    }

    // ---- lease expiry and fencing -------------------------------------------------------------------------------

    [Fact]
    public async Task Complete_with_a_stale_token_writes_nothing()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var stale = await AcquireAsync(store, key, Fingerprint(1), ShortLease);
        await AdvanceTimeAsync(ShortLease * 2);
        var takeover = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, takeover.Status);
        Assert.NotEqual(0, takeover.FencingToken);
        Assert.NotEqual(stale, takeover.FencingToken);

        var completed = await store.CompleteAsync(key, stale, TextResponse(200, "late writer"), LongLease, CancellationToken.None);

        Assert.False(completed);
        Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None)).Status);
        var current = TextResponse(201, "new owner");
        Assert.True(await store.CompleteAsync(key, takeover.FencingToken, current, LongLease, CancellationToken.None));
        AssertReplays(current, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task Release_and_renew_with_a_stale_token_change_nothing()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var stale = await AcquireAsync(store, key, Fingerprint(1), ShortLease);
        await AdvanceTimeAsync(ShortLease * 2);
        var current = await AcquireAsync(store, key, Fingerprint(1));

        Assert.False(await store.RenewLeaseAsync(key, stale, LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseAsync(key, stale, CancellationToken.None));

        Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None)).Status);
        var response = TextResponse(201, "new owner");
        Assert.True(await store.CompleteAsync(key, current, response, LongLease, CancellationToken.None));
        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseAsync(key, stale, CancellationToken.None));
        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task An_expired_lease_is_lost_even_before_anyone_takes_the_key_over()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var stale = await AcquireAsync(store, key, Fingerprint(1), ShortLease);
        await AdvanceTimeAsync(ShortLease * 2);

        Assert.False(await store.RenewLeaseAsync(key, stale, LongLease, CancellationToken.None));
        Assert.False(await store.CompleteAsync(key, stale, TextResponse(200, "late writer"), LongLease, CancellationToken.None));

        var next = await store.TryBeginAsync(key, Fingerprint(2), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, next.Status);
        Assert.NotEqual(stale, next.FencingToken);
    }

    // ---- retention ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_completed_record_disappears_after_its_retention()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var response = TextResponse(201, "short-lived");
        await CompleteNewAsync(store, key, Fingerprint(1), response, ShortLease);
        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));

        await AdvanceTimeAsync(ShortLease * 2);

        // Another fingerprint: the old record must be gone entirely, not just its response.
        var next = await store.TryBeginAsync(key, Fingerprint(2), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, next.Status);
    }

    [Fact]
    public async Task Completion_replaces_the_lease_with_the_retention()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1), ShortLease);
        var response = TextResponse(201, "kept");
        Assert.True(await store.CompleteAsync(key, token, response, LongLease, CancellationToken.None));

        await AdvanceTimeAsync(ShortLease * 2);

        // Past the lease the record began with: a store that kept the lease's expiry would forget the response here
        // and let a retry run the operation again.
        AssertReplays(response, await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None));
    }

    // ---- tokens -------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Tokens_are_unique_across_acquisitions_of_one_key()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var tokens = new HashSet<long>();

        for (var i = 0; i < 50; i++)
        {
            var token = await AcquireAsync(store, key, Fingerprint((byte)(i % 3)));
            Assert.NotEqual(0, token);
            Assert.True(tokens.Add(token), $"Token {token} was handed out twice for one key.");
            Assert.True(await store.ReleaseAsync(key, token, CancellationToken.None));
        }
    }

    // ---- concurrency and isolation ------------------------------------------------------------------------------

    [Fact]
    public async Task Parallel_begins_on_one_key_acquire_exactly_once()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();

        var results = await BeginInParallelAsync(store, _ => key, 64);

        Assert.Single(results, r => r.Status == IdempotencyBeginStatus.Acquired);
        Assert.Equal(63, results.Count(r => r.Status == IdempotencyBeginStatus.InFlight));
    }

    [Fact]
    public async Task Parallel_begins_on_distinct_keys_all_acquire()
    {
        var store = await CreateStoreAsync();
        var keys = Enumerable.Range(0, 64).Select(_ => NewKey()).ToArray();

        var results = await BeginInParallelAsync(store, i => keys[i], 64);

        Assert.All(results, r =>
        {
            Assert.Equal(IdempotencyBeginStatus.Acquired, r.Status);
            Assert.NotEqual(0, r.FencingToken);
        });
    }

    [Fact]
    public async Task Keys_are_isolated()
    {
        var store = await CreateStoreAsync();
        var first = NewKey();
        var second = NewKey();
        var firstToken = await AcquireAsync(store, first, Fingerprint(1));

        // Another fingerprint under another key is no mismatch: the records are unrelated.
        var secondToken = await AcquireAsync(store, second, Fingerprint(2));
        var firstResponse = TextResponse(201, "first");
        Assert.True(await store.CompleteAsync(first, firstToken, firstResponse, LongLease, CancellationToken.None));

        Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.TryBeginAsync(second, Fingerprint(2), LongLease, CancellationToken.None)).Status);
        Assert.True(await store.ReleaseAsync(second, secondToken, CancellationToken.None));
        AssertReplays(firstResponse, await store.TryBeginAsync(first, Fingerprint(1), LongLease, CancellationToken.None));
        Assert.Equal(IdempotencyBeginStatus.Acquired, (await store.TryBeginAsync(second, Fingerprint(1), LongLease, CancellationToken.None)).Status);
    }

    // ---- cancellation -------------------------------------------------------------------------------------------

    [Fact]
    public async Task Begin_with_a_cancelled_token_either_acquires_or_throws_without_writing()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        IdempotencyBeginResult? result = null;
        var exception = await Record.ExceptionAsync(async () => result = await store.TryBeginAsync(key, Fingerprint(1), LongLease, cancelled.Token));

        var next = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        if (exception is null)
        {
            Assert.Equal(IdempotencyBeginStatus.Acquired, result!.Value.Status);
            Assert.Equal(IdempotencyBeginStatus.InFlight, next.Status);
        }
        else
        {
            // A record written by a call that then reports cancellation would block the key for a whole lease with
            // nobody holding its token.
            Assert.IsAssignableFrom<OperationCanceledException>(exception);
            Assert.Equal(IdempotencyBeginStatus.Acquired, next.Status);
        }
    }

    // ---- argument rules -----------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task A_lease_that_is_not_positive_is_refused_before_the_record_is_touched(int leaseMilliseconds)
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var lease = TimeSpan.FromMilliseconds(leaseMilliseconds);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.TryBeginAsync(key, Fingerprint(1), lease, CancellationToken.None));
        var token = await AcquireAsync(store, key, Fingerprint(1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.RenewLeaseAsync(key, token, lease, CancellationToken.None));

        Assert.True(await store.CompleteAsync(key, token, TextResponse(200, "done"), LongLease, CancellationToken.None));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task A_retention_that_is_not_positive_is_refused_before_the_record_is_touched(int retentionMilliseconds)
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            async () => await store.CompleteAsync(key, token, TextResponse(200, "done"), TimeSpan.FromMilliseconds(retentionMilliseconds), CancellationToken.None));

        Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None)).Status);
        Assert.True(await store.CompleteAsync(key, token, TextResponse(200, "done"), LongLease, CancellationToken.None));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    protected static StoredResponse TextResponse(int statusCode, string body)
        => new(statusCode, [new("Content-Type", "text/plain; charset=utf-8")], Encoding.UTF8.GetBytes(body));

    /// <summary>Begins on a new key and asserts the caller acquired it.</summary>
    protected static async Task<long> AcquireAsync(IIdempotencyStore store, string key, byte[] fingerprint, TimeSpan? lease = null)
    {
        var result = await store.TryBeginAsync(key, fingerprint, lease ?? LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, result.Status);
        return result.FencingToken;
    }

    /// <summary>Acquires <paramref name="key"/> and completes it with <paramref name="response"/>; returns the spent token.</summary>
    protected static async Task<long> CompleteNewAsync(IIdempotencyStore store, string key, byte[] fingerprint, StoredResponse response, TimeSpan retention)
    {
        var token = await AcquireAsync(store, key, fingerprint);
        Assert.True(await store.CompleteAsync(key, token, response, retention, CancellationToken.None));
        return token;
    }

    protected static void AssertReplays(StoredResponse expected, IdempotencyBeginResult actual)
    {
        Assert.Equal(IdempotencyBeginStatus.Completed, actual.Status);
        var response = Assert.IsType<StoredResponse>(actual.Response);
        Assert.Equal(expected.StatusCode, response.StatusCode);
        Assert.Equal(expected.IsBodyStored, response.IsBodyStored);
        Assert.Equal(expected.Body.ToArray(), response.Body.ToArray());
        Assert.Equal(expected.Headers.Count, response.Headers.Count);
        for (var i = 0; i < expected.Headers.Count; i++)
        {
            Assert.Equal(expected.Headers[i].Key, response.Headers[i].Key);
            Assert.Equal(expected.Headers[i].Value.ToArray(), response.Headers[i].Value.ToArray());
        }
    }

    private static async Task<IdempotencyBeginResult[]> BeginInParallelAsync(IIdempotencyStore store, Func<int, string> keyOf, int count)
    {
        // Dedicated threads rather than the thread pool: on a small machine the pool may have a single free thread,
        // which would run the begins one after another and hide any race.
        using var start = new ManualResetEventSlim();
        var allWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var notYetWaiting = count;
        var tasks = new Task<IdempotencyBeginResult>[count];
        for (var i = 0; i < count; i++)
        {
            var key = keyOf(i);
            tasks[i] = Task.Factory.StartNew(
                () =>
                {
                    if (Interlocked.Decrement(ref notYetWaiting) == 0)
                    {
                        allWaiting.SetResult();
                    }

                    start.Wait();
                    return store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None).AsTask();
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).Unwrap();
        }

        await allWaiting.Task;
        start.Set();
        return await Task.WhenAll(tasks);
    }
}
