using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Idempotency.Storage;
using Microsoft.Extensions.Primitives;
using Xunit;

namespace Idempotency.Testing;

/// <summary>
/// The stream half of the store contract (<see cref="IIdempotencySequenceStore"/>) as executable tests, for a store that
/// keeps sequence streams. Derive a class from this one in the store's test project, once per store configuration,
/// and implement <see cref="CreateStoreAsync"/> and <see cref="AdvanceTimeAsync"/>; every test here then runs against
/// the store. A store that keeps only keyed records runs <see cref="IdempotencyStoreConformanceTests"/> alone.
/// </summary>
/// <remarks>
/// Real-time stores implement <see cref="AdvanceTimeAsync"/> by waiting, so a test lets time pass only in multiples of
/// <see cref="ShortLease"/>, never asserts at an exact expiry boundary, and keeps to about two leases of waiting.
/// Leases and retentions that must not expire during a test are <see cref="LongLease"/>, far beyond any test's duration.
/// </remarks>
public abstract partial class SequenceStoreConformanceTests
{
    /// <summary>A lease or retention no test outlives, even on a slow machine against a real server.</summary>
    protected static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);

    /// <summary>The window the tests complete with unless they are about the window.</summary>
    protected const int Window = 16;

    /// <summary>A fresh store whose streams are isolated from other tests (for example by a unique key prefix).</summary>
    protected abstract Task<IIdempotencySequenceStore> CreateStoreAsync();

    /// <summary>Lets at least <paramref name="duration"/> pass on the store's clock (fake clock, or real waiting).</summary>
    protected abstract Task AdvanceTimeAsync(TimeSpan duration);

    /// <summary>A lease short enough to let expire in a test, long enough that it does not expire by accident.</summary>
    protected virtual TimeSpan ShortLease => TimeSpan.FromMilliseconds(500);

    protected static string NewStream() => Guid.NewGuid().ToString("N");

    protected static byte[] Fingerprint(byte seed)
    {
        var fingerprint = new byte[32];
        fingerprint.AsSpan().Fill(seed);
        return fingerprint;
    }

    // ---- the next number ------------------------------------------------------------------------------------------

    [Fact]
    public async Task First_number_of_a_new_stream_acquires()
    {
        var store = await CreateStoreAsync();

        var result = await store.TryBeginSequenceAsync(NewStream(), 0, 1, Fingerprint(1), TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Acquired, result.Status);
        Assert.NotEqual(0, result.FencingToken);
        Assert.Null(result.Response);
    }

    [Fact]
    public async Task The_number_after_the_last_applied_one_acquires()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var first = await ApplyAsync(store, stream, 0, 1);

        var second = await BeginAsync(store, stream, 0, 2);

        Assert.Equal(SequenceBeginStatus.Acquired, second.Status);
        Assert.NotEqual(0, second.FencingToken);
        Assert.NotEqual(first, second.FencingToken);
    }

    [Fact]
    public async Task The_first_number_of_a_new_stream_may_come_from_any_epoch()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();

        var result = await BeginAsync(store, stream, 7, 1);

        Assert.Equal(SequenceBeginStatus.Acquired, result.Status);
    }

    // ---- gaps -------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_number_past_the_next_on_a_new_stream_is_a_gap_after_zero()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();

        var result = await BeginAsync(store, stream, 0, 2);

        Assert.Equal(SequenceBeginStatus.Gap, result.Status);
        Assert.Equal(0, result.LastSequence);
        Assert.Equal(0, result.FencingToken);

        // A gap writes nothing: the stream still waits for 1.
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 1)).Status);
    }

    [Fact]
    public async Task A_number_past_the_next_is_a_gap_naming_the_last_applied_number()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 0, 1, 3);

        var gap = await BeginAsync(store, stream, 0, 5);
        var far = await BeginAsync(store, stream, 0, long.MaxValue);

        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(3, gap.LastSequence);
        Assert.Equal(SequenceBeginStatus.Gap, far.Status);
        Assert.Equal(3, far.LastSequence);
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 4)).Status);
    }

    // ---- in flight ----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task The_same_number_in_flight_with_the_same_fingerprint_is_in_flight()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyAsync(store, stream, 0, 1);
        await AcquireAsync(store, stream, 0, 2);

        var second = await BeginAsync(store, stream, 0, 2);

        Assert.Equal(SequenceBeginStatus.InFlight, second.Status);
        Assert.Equal(0, second.FencingToken);
        Assert.Null(second.Response);
    }

    [Fact]
    public async Task The_same_number_in_flight_with_another_fingerprint_is_a_mismatch()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await AcquireAsync(store, stream, 0, 1, Fingerprint(1));

        var other = await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(2), LongLease, CancellationToken.None);
        var almostTheSame = Fingerprint(1);
        almostTheSame[^1] = 2;
        var lastByte = await store.TryBeginSequenceAsync(stream, 0, 1, almostTheSame, LongLease, CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.FingerprintMismatch, other.Status);
        Assert.Equal(SequenceBeginStatus.FingerprintMismatch, lastByte.Status);
    }

    [Fact]
    public async Task Begin_keeps_its_own_copy_of_the_fingerprint()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var pooledBuffer = Fingerprint(1);
        var token = await AcquireAsync(store, stream, 0, 1, pooledBuffer);

        pooledBuffer.AsSpan().Fill(9);

        Assert.Equal(SequenceBeginStatus.InFlight, (await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(1), LongLease, CancellationToken.None)).Status);
        var response = TextResponse(201, "one");
        Assert.True(await store.CompleteSequenceAsync(stream, token, response, Window, LongLease, CancellationToken.None));
        pooledBuffer.AsSpan().Fill(8);
        AssertReplays(response, await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(1), LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task Replays_and_gaps_are_answered_while_the_slot_is_busy()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var responses = await ApplyRangeAsync(store, stream, 0, 1, 2);
        await AcquireAsync(store, stream, 0, 3);

        AssertReplays(responses[1], await BeginAsync(store, stream, 0, 1));
        Assert.Equal(SequenceBeginStatus.FingerprintMismatch, (await store.TryBeginSequenceAsync(stream, 0, 2, Fingerprint(200), LongLease, CancellationToken.None)).Status);
        var gap = await BeginAsync(store, stream, 0, 4);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(2, gap.LastSequence);
    }

    [Fact]
    public async Task Rejected_begins_leave_the_owner_in_charge()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var token = await AcquireAsync(store, stream, 0, 1);
        await BeginAsync(store, stream, 0, 1);
        await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(200), LongLease, CancellationToken.None);
        await BeginAsync(store, stream, 0, 2);
        await BeginAsync(store, stream, 1, 1);
        var response = NumberedResponse(1);

        Assert.True(await store.CompleteSequenceAsync(stream, token, response, Window, LongLease, CancellationToken.None));

        AssertReplays(response, await BeginAsync(store, stream, 0, 1));
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 2)).Status);
    }

    // ---- complete and replay ------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_completed_number_replays_its_exact_response()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var response = new StoredResponse(
            201,
            [
                new("Content-Type", "application/json"),
                new("Location", "/transfers/42"),
                new("Link", new StringValues(["</a>; rel=\"next\"", "</b>; rel=\"prev\""])),
                new("X-Empty", ""),
                new("X-Repeated", "one"),
                new("X-Repeated", "two"),
                new("X-Text", "café 日本語 🙂"),
            ],
            AllByteValues());
        var token = await AcquireAsync(store, stream, 0, 1);

        Assert.True(await store.CompleteSequenceAsync(stream, token, response, Window, LongLease, CancellationToken.None));

        var replay = await BeginAsync(store, stream, 0, 1);
        AssertReplays(response, replay);
        Assert.Equal(0, replay.FencingToken);
    }

    [Fact]
    public async Task A_completed_number_with_another_fingerprint_is_a_mismatch()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyAsync(store, stream, 0, 1, Fingerprint(1));

        var other = await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(2), LongLease, CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.FingerprintMismatch, other.Status);
        Assert.Null(other.Response);
    }

    [Fact]
    public async Task A_response_without_its_body_replays_as_not_stored_with_its_status()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var response = new StoredResponse(202, [new("Location", "/jobs/7")], ReadOnlyMemory<byte>.Empty, isBodyStored: false);
        await ApplyAsync(store, stream, 0, 1, response: response);

        var replay = await BeginAsync(store, stream, 0, 1);

        AssertReplays(response, replay);
        Assert.False(replay.Response!.IsBodyStored);
    }

    [Fact]
    public async Task An_empty_body_replays_as_stored_and_empty()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var response = new StoredResponse(204, [], ReadOnlyMemory<byte>.Empty);
        await ApplyAsync(store, stream, 0, 1, response: response);

        var replay = await BeginAsync(store, stream, 0, 1);

        AssertReplays(response, replay);
        Assert.True(replay.Response!.IsBodyStored);
    }

    [Fact]
    public async Task Each_number_in_the_window_replays_its_own_response()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var responses = await ApplyRangeAsync(store, stream, 0, 1, 5);

        for (var n = 1; n <= 5; n++)
        {
            AssertReplays(responses[n], await BeginAsync(store, stream, 0, n));
        }
    }

    [Fact]
    public async Task Numbers_that_left_the_window_are_already_applied_and_the_rest_replay()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var responses = await ApplyRangeAsync(store, stream, 0, 1, 5, window: 3);

        for (var n = 1; n <= 2; n++)
        {
            var applied = await BeginAsync(store, stream, 0, n);
            Assert.Equal(SequenceBeginStatus.AlreadyApplied, applied.Status);
            Assert.Equal(5, applied.LastSequence);
            Assert.Null(applied.Response);

            // Nothing is kept to compare with, so another fingerprint is no mismatch: it is applied all the same.
            var other = await store.TryBeginSequenceAsync(stream, 0, n, Fingerprint(200), LongLease, CancellationToken.None);
            Assert.Equal(SequenceBeginStatus.AlreadyApplied, other.Status);
        }

        for (var n = 3; n <= 5; n++)
        {
            AssertReplays(responses[n], await BeginAsync(store, stream, 0, n));
        }
    }

    [Fact]
    public async Task Complete_twice_returns_false_and_keeps_the_first_response()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var token = await AcquireAsync(store, stream, 0, 1);
        var first = NumberedResponse(1);
        Assert.True(await store.CompleteSequenceAsync(stream, token, first, Window, LongLease, CancellationToken.None));

        var again = await store.CompleteSequenceAsync(stream, token, TextResponse(200, "second"), Window, LongLease, CancellationToken.None);

        Assert.False(again);
        AssertReplays(first, await BeginAsync(store, stream, 0, 1));

        // A second apply would have moved last to 2.
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 2)).Status);
    }

    [Fact]
    public async Task Complete_with_a_wrong_token_writes_nothing()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var token = await AcquireAsync(store, stream, 0, 1);

        Assert.False(await store.CompleteSequenceAsync(stream, token + 1, TextResponse(200, "intruder"), Window, LongLease, CancellationToken.None));
        Assert.False(await store.CompleteSequenceAsync(stream, 0, TextResponse(200, "intruder"), Window, LongLease, CancellationToken.None));

        Assert.Equal(SequenceBeginStatus.InFlight, (await BeginAsync(store, stream, 0, 1)).Status);
        var gap = await BeginAsync(store, stream, 0, 2);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(0, gap.LastSequence);
        var owners = NumberedResponse(1);
        Assert.True(await store.CompleteSequenceAsync(stream, token, owners, Window, LongLease, CancellationToken.None));
        AssertReplays(owners, await BeginAsync(store, stream, 0, 1));
    }

    // ---- release ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Release_leaves_last_unchanged_and_the_same_number_acquires_again_with_a_new_token()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 0, 1, 2);
        var token = await AcquireAsync(store, stream, 0, 3);

        Assert.True(await store.ReleaseSequenceAsync(stream, token, CancellationToken.None));

        var gap = await BeginAsync(store, stream, 0, 4);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(2, gap.LastSequence);
        var again = await BeginAsync(store, stream, 0, 3);
        Assert.Equal(SequenceBeginStatus.Acquired, again.Status);
        Assert.NotEqual(0, again.FencingToken);
        Assert.NotEqual(token, again.FencingToken);
    }

    [Fact]
    public async Task Release_forgets_the_fingerprint_of_the_slot()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var token = await AcquireAsync(store, stream, 0, 1, Fingerprint(1));
        Assert.True(await store.ReleaseSequenceAsync(stream, token, CancellationToken.None));

        var other = await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(2), LongLease, CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Acquired, other.Status);
    }

    [Fact]
    public async Task Release_after_complete_or_twice_returns_false_and_changes_nothing()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var response = NumberedResponse(1);
        var completed = await ApplyAsync(store, stream, 0, 1, response: response);
        var released = await AcquireAsync(store, stream, 0, 2);
        Assert.True(await store.ReleaseSequenceAsync(stream, released, CancellationToken.None));
        var owner = await AcquireAsync(store, stream, 0, 2);

        Assert.False(await store.ReleaseSequenceAsync(stream, completed, CancellationToken.None));
        Assert.False(await store.ReleaseSequenceAsync(stream, released, CancellationToken.None));

        Assert.Equal(SequenceBeginStatus.InFlight, (await BeginAsync(store, stream, 0, 2)).Status);
        AssertReplays(response, await BeginAsync(store, stream, 0, 1));
        Assert.True(await store.CompleteSequenceAsync(stream, owner, NumberedResponse(2), Window, LongLease, CancellationToken.None));
    }

    // ---- renew --------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Renew_by_the_owner_keeps_the_slot_past_the_original_lease()
    {
        var store = await CreateStoreAsync();
        await OnTimeAttempts.RunAsync(async sinceBegin =>
        {
            var stream = NewStream();
            var token = await AcquireAsync(store, stream, 0, 1, lease: ShortLease);
            await AdvanceTimeAsync(ShortLease / 4);

            var sinceRenewal = Stopwatch.StartNew();
            var renewed = await store.RenewSequenceLeaseAsync(stream, token, ShortLease * 4, CancellationToken.None);
            if (sinceBegin.Elapsed >= ShortLease)
            {
                return false;
            }

            Assert.True(renewed);

            // Now at least 1.5 leases after begin (past the original end), and far from the renewed end (4.25 leases).
            await AdvanceTimeAsync(ShortLease * 1.25);
            var check = await BeginAsync(store, stream, 0, 1);
            if (sinceRenewal.Elapsed >= ShortLease * 4)
            {
                return false;
            }

            Assert.Equal(SequenceBeginStatus.InFlight, check.Status);
            Assert.True(await store.CompleteSequenceAsync(stream, token, NumberedResponse(1), Window, LongLease, CancellationToken.None));
            return true;
        });
    }

    [Fact]
    public async Task A_renewed_lease_still_expires()
    {
        var store = await CreateStoreAsync();
        var stream = string.Empty;
        var token = 0L;
        await OnTimeAttempts.RunAsync(async sinceBegin =>
        {
            stream = NewStream();
            token = await AcquireAsync(store, stream, 0, 1, lease: ShortLease);
            var renewed = await store.RenewSequenceLeaseAsync(stream, token, ShortLease, CancellationToken.None);
            if (sinceBegin.Elapsed >= ShortLease)
            {
                return false;
            }

            Assert.True(renewed);
            return true;
        });

        await AdvanceTimeAsync(ShortLease * 2);

        var next = await BeginAsync(store, stream, 0, 1);
        Assert.Equal(SequenceBeginStatus.Acquired, next.Status);
        Assert.NotEqual(token, next.FencingToken);
    }

    [Fact]
    public async Task Renew_with_a_wrong_token_or_after_complete_returns_false()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var token = await AcquireAsync(store, stream, 0, 1);

        Assert.False(await store.RenewSequenceLeaseAsync(stream, token + 1, LongLease, CancellationToken.None));
        Assert.False(await store.RenewSequenceLeaseAsync(stream, 0, LongLease, CancellationToken.None));
        var response = NumberedResponse(1);
        Assert.True(await store.CompleteSequenceAsync(stream, token, response, Window, LongLease, CancellationToken.None));
        Assert.False(await store.RenewSequenceLeaseAsync(stream, token, LongLease, CancellationToken.None));

        AssertReplays(response, await BeginAsync(store, stream, 0, 1));
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 2)).Status);
    }

    // ---- missing streams ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task Operations_on_a_missing_stream_return_false_and_create_nothing()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();

        Assert.False(await store.CompleteSequenceAsync(stream, 1, TextResponse(200, "ghost"), Window, LongLease, CancellationToken.None));
        Assert.False(await store.RenewSequenceLeaseAsync(stream, 1, LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseSequenceAsync(stream, 1, CancellationToken.None));

        var gap = await BeginAsync(store, stream, 0, 2);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(0, gap.LastSequence);
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 1)).Status);
    }

    // ---- lease expiry and fencing -------------------------------------------------------------------------------------

    [Fact]
    public async Task After_the_lease_expires_a_new_owner_acquires_and_the_old_token_changes_nothing()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var responses = await ApplyRangeAsync(store, stream, 0, 1, 2);
        var stale = await AcquireAsync(store, stream, 0, 3, lease: ShortLease);
        await AdvanceTimeAsync(ShortLease * 2);

        var takeover = await BeginAsync(store, stream, 0, 3);

        Assert.Equal(SequenceBeginStatus.Acquired, takeover.Status);
        Assert.NotEqual(0, takeover.FencingToken);
        Assert.NotEqual(stale, takeover.FencingToken);
        Assert.False(await store.CompleteSequenceAsync(stream, stale, TextResponse(200, "late writer"), Window, LongLease, CancellationToken.None));
        Assert.False(await store.RenewSequenceLeaseAsync(stream, stale, LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseSequenceAsync(stream, stale, CancellationToken.None));

        // The history before the lost slot survives, the new owner still holds 3, and only its response is applied.
        AssertReplays(responses[2], await BeginAsync(store, stream, 0, 2));
        Assert.Equal(SequenceBeginStatus.InFlight, (await BeginAsync(store, stream, 0, 3)).Status);
        var current = NumberedResponse(3);
        Assert.True(await store.CompleteSequenceAsync(stream, takeover.FencingToken, current, Window, LongLease, CancellationToken.None));
        AssertReplays(current, await BeginAsync(store, stream, 0, 3));
        Assert.False(await store.CompleteSequenceAsync(stream, stale, TextResponse(200, "late writer"), Window, LongLease, CancellationToken.None));
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 4)).Status);
    }

    [Fact]
    public async Task An_expired_lease_is_lost_even_before_anyone_takes_the_slot_over()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var stale = await AcquireAsync(store, stream, 0, 1, Fingerprint(1), ShortLease);
        await AdvanceTimeAsync(ShortLease * 2);

        Assert.False(await store.RenewSequenceLeaseAsync(stream, stale, LongLease, CancellationToken.None));
        Assert.False(await store.CompleteSequenceAsync(stream, stale, TextResponse(200, "late writer"), Window, LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseSequenceAsync(stream, stale, CancellationToken.None));

        // Another fingerprint: the expired slot must be gone, not just its owner.
        var next = await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(2), LongLease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, next.Status);
        Assert.NotEqual(stale, next.FencingToken);
    }

    // ---- epochs -------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task An_older_epoch_is_fenced_with_the_current_epoch_before_anything_else()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 0, 1, 2);
        await ApplyAsync(store, stream, 2, 1);

        foreach (var (epoch, number) in new (long, long)[] { (1, 1), (0, 1), (0, 2), (0, 3), (0, 99), (1, 2) })
        {
            var fenced = await BeginAsync(store, stream, epoch, number);
            Assert.Equal(SequenceBeginStatus.EpochFenced, fenced.Status);
            Assert.Equal(2, fenced.CurrentEpoch);
            Assert.Equal(0, fenced.FencingToken);
        }
    }

    [Fact]
    public async Task A_newer_epoch_starts_over_at_one_and_does_not_replay_the_old_epoch()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 0, 1, 3);

        var gap = await BeginAsync(store, stream, 1, 2);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(0, gap.LastSequence);

        // The same number and fingerprint as the old epoch's 1: a new incarnation's 1 is a new operation.
        var first = await BeginAsync(store, stream, 1, 1);
        Assert.Equal(SequenceBeginStatus.Acquired, first.Status);
    }

    [Fact]
    public async Task An_epoch_may_jump_ahead_by_more_than_one()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 0, 1, 2);

        await ApplyAsync(store, stream, 1000, 1);

        var fenced = await BeginAsync(store, stream, 999, 1);
        Assert.Equal(SequenceBeginStatus.EpochFenced, fenced.Status);
        Assert.Equal(1000, fenced.CurrentEpoch);
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 1000, 2)).Status);
    }

    [Fact]
    public async Task The_epoch_is_raised_only_when_the_new_epochs_first_request_completes()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var old = await ApplyRangeAsync(store, stream, 0, 1, 2);

        // A new incarnation whose first request fails raises nothing: the old one carries on.
        var failed = await AcquireAsync(store, stream, 1, 1);
        Assert.True(await store.ReleaseSequenceAsync(stream, failed, CancellationToken.None));
        AssertReplays(old[2], await BeginAsync(store, stream, 0, 2));
        var third = NumberedResponse(3);
        await ApplyAsync(store, stream, 0, 3, response: third);

        // While the new epoch's first request is in flight, the old epoch still replays and still counts.
        var token = await AcquireAsync(store, stream, 1, 1);
        AssertReplays(third, await BeginAsync(store, stream, 0, 3));
        var gap = await BeginAsync(store, stream, 0, 5);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(3, gap.LastSequence);

        Assert.True(await store.CompleteSequenceAsync(stream, token, NumberedResponse(1), Window, LongLease, CancellationToken.None));

        foreach (var number in new long[] { 1, 3, 4 })
        {
            var fenced = await BeginAsync(store, stream, 0, number);
            Assert.Equal(SequenceBeginStatus.EpochFenced, fenced.Status);
            Assert.Equal(1, fenced.CurrentEpoch);
        }
    }

    [Fact]
    public async Task A_new_epochs_request_while_an_old_epochs_slot_is_live_is_in_flight_and_the_other_way_round()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 0, 1, 2);

        var oldOwner = await AcquireAsync(store, stream, 0, 3, Fingerprint(3));

        // Another epoch's request is no mismatch even with another fingerprint: it is not the same request.
        Assert.Equal(SequenceBeginStatus.InFlight, (await store.TryBeginSequenceAsync(stream, 1, 1, Fingerprint(99), LongLease, CancellationToken.None)).Status);
        Assert.True(await store.CompleteSequenceAsync(stream, oldOwner, NumberedResponse(3), Window, LongLease, CancellationToken.None));

        var newOwner = await AcquireAsync(store, stream, 1, 1, Fingerprint(1));
        Assert.Equal(SequenceBeginStatus.InFlight, (await store.TryBeginSequenceAsync(stream, 0, 4, Fingerprint(99), LongLease, CancellationToken.None)).Status);
        Assert.Equal(SequenceBeginStatus.FingerprintMismatch, (await store.TryBeginSequenceAsync(stream, 1, 1, Fingerprint(99), LongLease, CancellationToken.None)).Status);
        Assert.Equal(SequenceBeginStatus.InFlight, (await store.TryBeginSequenceAsync(stream, 1, 1, Fingerprint(1), LongLease, CancellationToken.None)).Status);

        // An even newer epoch waits for the slot too; it is not fenced by an epoch that has not been applied yet.
        Assert.Equal(SequenceBeginStatus.InFlight, (await BeginAsync(store, stream, 2, 1)).Status);
        Assert.True(await store.ReleaseSequenceAsync(stream, newOwner, CancellationToken.None));
    }

    [Fact]
    public async Task After_the_epoch_is_raised_the_new_epoch_replays_its_own_responses_not_the_old_ones()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();

        // The old epoch used the fingerprints the new one will use, so a window that kept old entries would replay them.
        await ApplyRangeAsync(store, stream, 0, 1, 4);
        var fresh = await ApplyRangeAsync(store, stream, 1, 1, 2, responseOf: n => TextResponse(201, "new epoch " + n.ToString(CultureInfo.InvariantCulture)));

        AssertReplays(fresh[1], await BeginAsync(store, stream, 1, 1));
        AssertReplays(fresh[2], await BeginAsync(store, stream, 1, 2));
        var gap = await BeginAsync(store, stream, 1, 4);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(2, gap.LastSequence);
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 1, 3)).Status);
    }

    [Fact]
    public async Task The_new_epochs_window_holds_only_its_own_numbers()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 0, 1, 5, window: 3);

        var fresh = await ApplyRangeAsync(store, stream, 1, 1, 4, window: 3);

        var applied = await BeginAsync(store, stream, 1, 1);
        Assert.Equal(SequenceBeginStatus.AlreadyApplied, applied.Status);
        Assert.Equal(4, applied.LastSequence);
        for (var n = 2; n <= 4; n++)
        {
            AssertReplays(fresh[n], await BeginAsync(store, stream, 1, n));
        }
    }

    // ---- retention ----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_stream_disappears_after_its_retention_with_no_activity()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 3, 1, 2, retention: ShortLease);

        await AdvanceTimeAsync(ShortLease * 2);

        // Epoch 0 and another fingerprint: the epoch, last and window must be gone, not just the responses.
        var first = await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(200), LongLease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, first.Status);
    }

    [Fact]
    public async Task Each_completion_restarts_the_retention()
    {
        var store = await CreateStoreAsync();

        // Wide margins on both sides: on a real clock a loaded machine's pauses must not push the second completion
        // past the first one's retention, nor the check past the second one's; an attempt paused past either proves
        // nothing and runs again.
        var retention = ShortLease * 4;
        await OnTimeAttempts.RunAsync(async sinceFirst =>
        {
            var stream = NewStream();
            await ApplyAsync(store, stream, 0, 1, retention: retention);
            await AdvanceTimeAsync(ShortLease * 2.5);
            var second = NumberedResponse(2);
            var sinceSecond = Stopwatch.StartNew();
            await ApplyAsync(store, stream, 0, 2, response: second, retention: retention);
            if (sinceFirst.Elapsed >= retention)
            {
                return false;
            }

            // At least 4.5 leases after the first completion (past its retention), about 2 after the second (within it).
            await AdvanceTimeAsync(ShortLease * 2);
            var replay = await BeginAsync(store, stream, 0, 2);
            if (sinceSecond.Elapsed >= retention)
            {
                return false;
            }

            AssertReplays(second, replay);
            Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 3)).Status);
            return true;
        });
    }

    [Fact]
    public async Task A_stream_whose_retention_ran_out_under_a_slot_is_gone_once_the_slot_is_released()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var response = NumberedResponse(1);
        await ApplyAsync(store, stream, 0, 1, response: response, retention: ShortLease);
        var token = await AcquireAsync(store, stream, 0, 2);
        await AdvanceTimeAsync(ShortLease * 2);

        // The live slot keeps the stream past its retention: its owner must find the history where it left it.
        AssertReplays(response, await BeginAsync(store, stream, 0, 1));
        Assert.True(await store.ReleaseSequenceAsync(stream, token, CancellationToken.None));

        // Nothing holds it any more and its retention is over: it expires as if the slot had never been taken, not
        // when the released lease would have ended (found by the property tests: Redis kept it for the whole lease).
        var first = await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(200), LongLease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, first.Status);
    }

    [Fact]
    public async Task A_slot_renewed_for_less_keeps_the_stream_only_for_the_renewed_lease()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyAsync(store, stream, 0, 1, retention: ShortLease);
        var token = await AcquireAsync(store, stream, 0, 2);
        await AdvanceTimeAsync(ShortLease * 2);

        Assert.True(await store.RenewSequenceLeaseAsync(stream, token, ShortLease, CancellationToken.None));
        await AdvanceTimeAsync(ShortLease * 2);

        // The retention and the renewed lease are both over: the stream is gone, whatever the first lease was.
        var first = await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(200), LongLease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, first.Status);
    }

    [Fact]
    public async Task Completion_replaces_the_lease_with_the_retention()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var token = await AcquireAsync(store, stream, 0, 1, lease: ShortLease);
        var response = NumberedResponse(1);
        Assert.True(await store.CompleteSequenceAsync(stream, token, response, Window, LongLease, CancellationToken.None));

        await AdvanceTimeAsync(ShortLease * 2);

        AssertReplays(response, await BeginAsync(store, stream, 0, 1));
    }

    // ---- tokens -------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Tokens_are_unique_across_acquisitions_of_one_stream()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var tokens = new HashSet<long>();

        for (var n = 1; n <= 10; n++)
        {
            for (var attempt = 0; attempt < 4; attempt++)
            {
                var token = await AcquireAsync(store, stream, 0, n, Fingerprint((byte)attempt));
                Assert.True(tokens.Add(token), $"Token {token} was handed out twice for one stream.");
                Assert.True(await store.ReleaseSequenceAsync(stream, token, CancellationToken.None));
            }

            var applied = await ApplyAsync(store, stream, 0, n);
            Assert.True(tokens.Add(applied), $"Token {applied} was handed out twice for one stream.");
        }
    }

    // ---- isolation ----------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Streams_are_isolated_from_each_other()
    {
        var store = await CreateStoreAsync();
        var first = NewStream();
        var second = NewStream();
        var responses = await ApplyRangeAsync(store, first, 2, 1, 3);
        var firstOwner = await AcquireAsync(store, first, 2, 4);

        var secondOwner = await AcquireAsync(store, second, 0, 1, Fingerprint(200));

        Assert.False(await store.CompleteSequenceAsync(second, firstOwner, TextResponse(200, "wrong stream"), Window, LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseSequenceAsync(first, secondOwner, CancellationToken.None));
        Assert.True(await store.ReleaseSequenceAsync(second, secondOwner, CancellationToken.None));
        Assert.Equal(SequenceBeginStatus.InFlight, (await BeginAsync(store, first, 2, 4)).Status);
        AssertReplays(responses[3], await BeginAsync(store, first, 2, 3));
        var gap = await BeginAsync(store, second, 0, 4);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(0, gap.LastSequence);
        Assert.True(await store.CompleteSequenceAsync(first, firstOwner, NumberedResponse(4), Window, LongLease, CancellationToken.None));
    }

    [Fact]
    public async Task Streams_are_isolated_from_records_with_the_same_key()
    {
        var store = await CreateStoreAsync();
        var key = NewStream();
        var record = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, record.Status);

        var slot = await store.TryBeginSequenceAsync(key, 0, 1, Fingerprint(2), LongLease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, slot.Status);
        Assert.NotEqual(record.FencingToken, slot.FencingToken);

        // Neither owner's token works on the other kind of state.
        Assert.False(await store.CompleteAsync(key, slot.FencingToken, TextResponse(200, "stream token"), LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseAsync(key, slot.FencingToken, CancellationToken.None));
        Assert.False(await store.CompleteSequenceAsync(key, record.FencingToken, TextResponse(200, "record token"), Window, LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseSequenceAsync(key, record.FencingToken, CancellationToken.None));

        var streamResponse = TextResponse(201, "stream");
        Assert.True(await store.CompleteSequenceAsync(key, slot.FencingToken, streamResponse, Window, LongLease, CancellationToken.None));
        Assert.Equal(IdempotencyBeginStatus.InFlight, (await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None)).Status);
        var recordResponse = TextResponse(200, "record");
        Assert.True(await store.CompleteAsync(key, record.FencingToken, recordResponse, LongLease, CancellationToken.None));

        AssertReplays(streamResponse, await store.TryBeginSequenceAsync(key, 0, 1, Fingerprint(2), LongLease, CancellationToken.None));
        var recordReplay = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Completed, recordReplay.Status);
        Assert.Equal(Encoding.UTF8.GetBytes("record"), recordReplay.Response!.Body.ToArray());
    }

    [Fact]
    public async Task A_record_with_the_stream_key_does_not_create_the_stream()
    {
        var store = await CreateStoreAsync();
        var key = NewStream();
        var record = await store.TryBeginAsync(key, Fingerprint(1), LongLease, CancellationToken.None);
        Assert.True(await store.CompleteAsync(key, record.FencingToken, TextResponse(200, "record"), LongLease, CancellationToken.None));

        var gap = await BeginAsync(store, key, 0, 2);

        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(0, gap.LastSequence);
        Assert.False(await store.RenewSequenceLeaseAsync(key, record.FencingToken, LongLease, CancellationToken.None));
    }

    // ---- concurrency --------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Parallel_begins_of_the_next_number_acquire_exactly_once()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, 0, 1, 2);

        var results = await BeginInParallelAsync(store, 64, _ => (stream, 3));

        var winner = Assert.Single(results, r => r.Status == SequenceBeginStatus.Acquired);
        Assert.Equal(63, results.Count(r => r.Status == SequenceBeginStatus.InFlight));
        var response = NumberedResponse(3);
        Assert.True(await store.CompleteSequenceAsync(stream, winner.FencingToken, response, Window, LongLease, CancellationToken.None));
        AssertReplays(response, await BeginAsync(store, stream, 0, 3));
    }

    [Fact]
    public async Task Rounds_of_simultaneous_begins_of_the_next_number_acquire_each_exactly_once()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();

        var failures = await RaceRoundsAsync(store, 200, round => (stream, round));

        Assert.Empty(failures);
        var gap = await BeginAsync(store, stream, 0, 202);
        Assert.Equal(200, gap.LastSequence);
    }

    [Fact]
    public async Task Rounds_of_simultaneous_first_begins_on_new_streams_acquire_each_exactly_once()
    {
        var store = await CreateStoreAsync();
        var streams = Enumerable.Range(0, 200).Select(_ => NewStream()).ToArray();

        var failures = await RaceRoundsAsync(store, 200, round => (streams[round - 1], 1));

        Assert.Empty(failures);
    }

    [Fact]
    public async Task Parallel_begins_of_every_number_acquire_only_the_next_one()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();

        var results = await BeginInParallelAsync(store, 64, i => (stream, i + 1));

        Assert.Equal(SequenceBeginStatus.Acquired, results[0].Status);
        for (var i = 1; i < results.Length; i++)
        {
            Assert.Equal(SequenceBeginStatus.Gap, results[i].Status);
            Assert.Equal(0, results[i].LastSequence);
        }
    }

    [Fact]
    public async Task Parallel_begins_on_distinct_streams_all_acquire()
    {
        var store = await CreateStoreAsync();
        var streams = Enumerable.Range(0, 64).Select(_ => NewStream()).ToArray();

        var results = await BeginInParallelAsync(store, 64, i => (streams[i], 1));

        Assert.All(results, r => Assert.Equal(SequenceBeginStatus.Acquired, r.Status));
        Assert.Equal(64, results.Select(r => r.FencingToken).Distinct().Count());
    }

    [Fact]
    public async Task Clients_racing_through_the_numbers_in_random_order_apply_each_exactly_once_in_order()
    {
        const int numbers = 40;
        const int clients = 4;
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var executed = new List<long>();
        var completions = new int[numbers + 1];

        using var start = new ManualResetEventSlim();
        var allWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var notYetWaiting = clients;
        var tasks = new Task[clients];
        for (var c = 0; c < clients; c++)
        {
            var seed = c;

            // Dedicated threads released together, as in BeginInParallelAsync.
            tasks[c] = Task.Factory.StartNew(
                async () =>
                {
                    if (Interlocked.Decrement(ref notYetWaiting) == 0)
                    {
                        allWaiting.SetResult();
                    }

                    start.Wait();
                    await RunClientAsync(store, stream, numbers, new Random(seed), executed, completions);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).Unwrap();
        }

        await allWaiting.Task;
        start.Set();
        await Task.WhenAll(tasks);

        // The handlers' side effects happened once per number, in order; each number was applied by one complete.
        Assert.Equal(Enumerable.Range(1, numbers).Select(n => (long)n), executed);
        for (var n = 1; n <= numbers; n++)
        {
            Assert.True(completions[n] == 1, $"Number {n} was applied {completions[n]} times.");
        }

        var gap = await BeginAsync(store, stream, 0, numbers + 2);
        Assert.Equal(SequenceBeginStatus.Gap, gap.Status);
        Assert.Equal(numbers, gap.LastSequence);
        AssertReplays(NumberedResponse(numbers), await BeginAsync(store, stream, 0, numbers));
        Assert.Equal(SequenceBeginStatus.AlreadyApplied, (await BeginAsync(store, stream, 0, 1)).Status);
    }

    // ---- cancellation -------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Begin_with_a_cancelled_token_either_acquires_or_throws_without_writing()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        SequenceBeginResult? result = null;
        var exception = await Record.ExceptionAsync(async () => result = await store.TryBeginSequenceAsync(stream, 0, 1, Fingerprint(1), LongLease, cancelled.Token));

        var next = await BeginAsync(store, stream, 0, 1);
        if (exception is null)
        {
            Assert.Equal(SequenceBeginStatus.Acquired, result!.Value.Status);
            Assert.Equal(SequenceBeginStatus.InFlight, next.Status);
        }
        else
        {
            // A slot taken by a call that then reports cancellation would block the stream for a whole lease.
            Assert.IsAssignableFrom<OperationCanceledException>(exception);
            Assert.Equal(SequenceBeginStatus.Acquired, next.Status);
        }
    }

    // ---- argument rules -----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task A_window_below_one_is_refused_before_the_stream_is_touched(int window)
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var token = await AcquireAsync(store, stream, 0, 1);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            async () => await store.CompleteSequenceAsync(stream, token, NumberedResponse(1), window, LongLease, CancellationToken.None));

        Assert.Equal(SequenceBeginStatus.InFlight, (await BeginAsync(store, stream, 0, 1)).Status);
        Assert.True(await store.CompleteSequenceAsync(stream, token, NumberedResponse(1), 1, LongLease, CancellationToken.None));
        Assert.Equal(SequenceBeginStatus.Completed, (await BeginAsync(store, stream, 0, 1)).Status);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task A_retention_that_is_not_positive_is_refused_before_the_stream_is_touched(int retentionMilliseconds)
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var token = await AcquireAsync(store, stream, 0, 1);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            async () => await store.CompleteSequenceAsync(stream, token, NumberedResponse(1), Window, TimeSpan.FromMilliseconds(retentionMilliseconds), CancellationToken.None));

        Assert.Equal(SequenceBeginStatus.InFlight, (await BeginAsync(store, stream, 0, 1)).Status);
        Assert.True(await store.CompleteSequenceAsync(stream, token, NumberedResponse(1), Window, LongLease, CancellationToken.None));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task A_lease_that_is_not_positive_is_refused_before_the_stream_is_touched(int leaseMilliseconds)
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var lease = TimeSpan.FromMilliseconds(leaseMilliseconds);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            async () => await store.TryBeginSequenceAsync(stream, 0, 1, FingerprintFor(1), lease, CancellationToken.None));
        var token = await AcquireAsync(store, stream, 0, 1);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.RenewSequenceLeaseAsync(stream, token, lease, CancellationToken.None));

        Assert.True(await store.CompleteSequenceAsync(stream, token, NumberedResponse(1), Window, LongLease, CancellationToken.None));
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(0, 0)]
    [InlineData(0, -1)]
    public async Task A_negative_epoch_or_a_number_below_one_is_refused_before_the_stream_is_touched(long epoch, long number)
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            async () => await store.TryBeginSequenceAsync(stream, epoch, number, FingerprintFor(1), LongLease, CancellationToken.None));

        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 1)).Status);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------------

    /// <summary>The fingerprint the helpers use for <paramref name="number"/>: distinct per number, so a replay of the wrong number shows.</summary>
    protected static byte[] FingerprintFor(long number)
    {
        var fingerprint = Fingerprint(0xA5);
        BinaryPrimitives.WriteInt64LittleEndian(fingerprint, number);
        return fingerprint;
    }

    protected static StoredResponse TextResponse(int statusCode, string body)
        => new(statusCode, [new("Content-Type", "text/plain; charset=utf-8")], Encoding.UTF8.GetBytes(body));

    /// <summary>A response that names its number in a header and in the body.</summary>
    protected static StoredResponse NumberedResponse(long number)
    {
        var text = number.ToString(CultureInfo.InvariantCulture);
        return new(201, [new("Content-Type", "text/plain; charset=utf-8"), new("X-Sequence", text)], Encoding.UTF8.GetBytes("applied " + text));
    }

    /// <summary>Begins <paramref name="number"/> with its <see cref="FingerprintFor"/> fingerprint and a lease no test outlives.</summary>
    protected static async Task<SequenceBeginResult> BeginAsync(IIdempotencySequenceStore store, string stream, long epoch, long number)
        => await store.TryBeginSequenceAsync(stream, epoch, number, FingerprintFor(number), LongLease, CancellationToken.None);

    /// <summary>Begins <paramref name="number"/> and asserts the caller acquired the slot.</summary>
    protected static async Task<long> AcquireAsync(IIdempotencySequenceStore store, string stream, long epoch, long number, byte[]? fingerprint = null, TimeSpan? lease = null)
    {
        var result = await store.TryBeginSequenceAsync(stream, epoch, number, fingerprint ?? FingerprintFor(number), lease ?? LongLease, CancellationToken.None);
        Assert.Equal(SequenceBeginStatus.Acquired, result.Status);
        Assert.NotEqual(0, result.FencingToken);
        return result.FencingToken;
    }

    /// <summary>Acquires <paramref name="number"/> and completes it; returns the spent token.</summary>
    protected static async Task<long> ApplyAsync(
        IIdempotencySequenceStore store, string stream, long epoch, long number, byte[]? fingerprint = null, StoredResponse? response = null, int window = Window, TimeSpan? retention = null)
    {
        var token = await AcquireAsync(store, stream, epoch, number, fingerprint);
        Assert.True(await store.CompleteSequenceAsync(stream, token, response ?? NumberedResponse(number), window, retention ?? LongLease, CancellationToken.None));
        return token;
    }

    /// <summary>Applies <paramref name="from"/>..<paramref name="to"/>; the responses are indexed by number.</summary>
    protected static async Task<StoredResponse[]> ApplyRangeAsync(
        IIdempotencySequenceStore store, string stream, long epoch, int from, int to, int window = Window, TimeSpan? retention = null, Func<long, StoredResponse>? responseOf = null)
    {
        var responses = new StoredResponse[to + 1];
        for (var n = from; n <= to; n++)
        {
            responses[n] = responseOf?.Invoke(n) ?? NumberedResponse(n);
            await ApplyAsync(store, stream, epoch, n, response: responses[n], window: window, retention: retention);
        }

        return responses;
    }

    protected static void AssertReplays(StoredResponse expected, SequenceBeginResult actual)
    {
        Assert.Equal(SequenceBeginStatus.Completed, actual.Status);
        Assert.Equal(0, actual.FencingToken);
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

    private static byte[] AllByteValues()
    {
        var body = new byte[512];
        for (var i = 0; i < body.Length; i++)
        {
            // Both orders, so a store that stops at a zero byte or mangles invalid UTF-8 shows it.
            body[i] = (byte)(i < 256 ? i : 511 - i);
        }

        return body;
    }

    /// <summary>
    /// One client of the exactly-once run: tries its pending numbers in a fresh random order each pass until every one
    /// is known applied. An acquired number sometimes fails (released, no side effect) like a handler that threw.
    /// </summary>
    private static async Task RunClientAsync(IIdempotencySequenceStore store, string stream, int numbers, Random random, List<long> executed, int[] completions)
    {
        var pending = Enumerable.Range(1, numbers).Select(n => (long)n).ToArray();
        var pendingCount = pending.Length;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (pendingCount > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The run made no progress; {pendingCount} numbers still pending.");
            random.Shuffle(pending.AsSpan(0, pendingCount));
            var progressed = false;
            for (var i = pendingCount - 1; i >= 0; i--)
            {
                var number = pending[i];
                var begin = await BeginAsync(store, stream, 0, number);
                bool done;
                switch (begin.Status)
                {
                    case SequenceBeginStatus.Acquired when random.Next(5) == 0:
                        Assert.True(await store.ReleaseSequenceAsync(stream, begin.FencingToken, CancellationToken.None));
                        done = false;
                        break;
                    case SequenceBeginStatus.Acquired:
                        lock (executed)
                        {
                            executed.Add(number);
                        }

                        Assert.True(await store.CompleteSequenceAsync(stream, begin.FencingToken, NumberedResponse(number), Window, LongLease, CancellationToken.None));
                        Interlocked.Increment(ref completions[number]);
                        done = true;
                        break;
                    case SequenceBeginStatus.Completed:
                        AssertReplays(NumberedResponse(number), begin);
                        done = true;
                        break;
                    case SequenceBeginStatus.AlreadyApplied:
                        Assert.True(begin.LastSequence >= number);
                        done = true;
                        break;
                    case SequenceBeginStatus.Gap:
                        Assert.True(begin.LastSequence < number - 1);
                        done = false;
                        break;
                    case SequenceBeginStatus.InFlight:
                        done = false;
                        break;
                    default:
                        Assert.Fail($"Number {number} got {begin.Status}.");
                        return;
                }

                if (done)
                {
                    pending[i] = pending[--pendingCount];
                    progressed = true;
                }
            }

            if (!progressed)
            {
                // Lets the client holding the slot finish instead of spinning against it.
                Thread.Yield();
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="rounds"/> races: in each, one client per core begins the same number at the same moment;
    /// exactly one must acquire (and then completes), the others must see it in flight. Returns what went wrong.
    /// </summary>
    private static async Task<List<string>> RaceRoundsAsync(IIdempotencySequenceStore store, int rounds, Func<int, (string Stream, long Number)> requestOf)
    {
        // One client per core, released by a barrier: a barrier spins before it blocks, so the clients leave it within
        // microseconds of each other, far closer than threads woken one by one from an event. More clients than cores
        // would block in the barrier and wake one after another, serializing the very calls that should race.
        var clients = Math.Max(2, Environment.ProcessorCount);
        var acquired = new int[rounds + 1];
        var failures = new List<string>();
        using var barrier = new Barrier(clients);
        var threads = new Task[clients];
        for (var c = 0; c < clients; c++)
        {
            threads[c] = Task.Factory.StartNew(
                () =>
                {
                    try
                    {
                        for (var round = 1; round <= rounds; round++)
                        {
                            var (stream, number) = requestOf(round);
                            barrier.SignalAndWait();
                            var begin = BeginAsync(store, stream, 0, number).GetAwaiter().GetResult();

                            // Everyone has begun before the winner completes, so every other client must see it in flight.
                            barrier.SignalAndWait();
                            string? failure = null;
                            if (begin.Status == SequenceBeginStatus.Acquired)
                            {
                                if (Interlocked.Increment(ref acquired[round]) > 1)
                                {
                                    failure = $"Round {round}: {number} acquired twice.";
                                }
                                else if (!store.CompleteSequenceAsync(stream, begin.FencingToken, NumberedResponse(number), Window, LongLease, CancellationToken.None).AsTask().GetAwaiter().GetResult())
                                {
                                    failure = $"Round {round}: the winner could not complete {number}.";
                                }
                            }
                            else if (begin.Status != SequenceBeginStatus.InFlight)
                            {
                                failure = $"Round {round}: {number} got {begin.Status}.";
                            }

                            if (failure is not null)
                            {
                                lock (failures)
                                {
                                    failures.Add(failure);
                                }
                            }
                        }
                    }
                    catch
                    {
                        // The others must not wait for this client at the barrier forever.
                        barrier.RemoveParticipant();
                        throw;
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        await Task.WhenAll(threads);
        for (var round = 1; round <= rounds; round++)
        {
            if (acquired[round] == 0)
            {
                failures.Add($"Round {round}: nobody acquired.");
            }
        }

        return failures;
    }

    private static async Task<SequenceBeginResult[]> BeginInParallelAsync(IIdempotencySequenceStore store, int count, Func<int, (string Stream, long Number)> requestOf)
    {
        // Dedicated threads rather than the thread pool: on a small machine the pool may have a single free thread,
        // which would run the begins one after another and hide any race.
        using var start = new ManualResetEventSlim();
        var allWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var notYetWaiting = count;
        var tasks = new Task<SequenceBeginResult>[count];
        for (var i = 0; i < count; i++)
        {
            var (stream, number) = requestOf(i);
            tasks[i] = Task.Factory.StartNew(
                () =>
                {
                    if (Interlocked.Decrement(ref notYetWaiting) == 0)
                    {
                        allWaiting.SetResult();
                    }

                    start.Wait();
                    return store.TryBeginSequenceAsync(stream, 0, number, FingerprintFor(number), LongLease, CancellationToken.None).AsTask();
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
