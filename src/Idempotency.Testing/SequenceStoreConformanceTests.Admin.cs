using Idempotency.Storage;
using Xunit;

namespace Idempotency.Testing;

/// <summary>The streams half of <see cref="IIdempotencyAdminStore"/>: what an operator sees of a stream and what resetting one does.</summary>
public abstract partial class SequenceStoreConformanceTests
{
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Inspect_shows_a_streams_epoch_last_number_window_and_live_slot()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        var responses = await ApplyRangeAsync(store, stream, epoch: 2, from: 1, to: 3, window: 2);
        var token = await AcquireAsync(store, stream, epoch: 2, number: 4);

        var info = await AdminOf(store).InspectStreamAsync(stream, CancellationToken.None);

        Assert.NotNull(info);
        Assert.Equal(2, info.Epoch);
        Assert.Equal(3, info.LastSequenceNumber);
        Assert.Equal([2L, 3L], info.Window.Select(entry => entry.SequenceNumber));
        AssertReplays(responses[2], SequenceBeginResult.Completed(info.Window[0].Response));
        AssertReplays(responses[3], SequenceBeginResult.Completed(info.Window[1].Response));
        var slot = Assert.IsType<IdempotencyStreamSlot>(info.Slot);
        Assert.Equal(token, slot.FencingToken);
        Assert.Equal(2, slot.Epoch);
        Assert.Equal(4, slot.SequenceNumber);

        // The stream lives while its retention or its slot's lease does, whichever ends later: here both are one long lease.
        Assert.True((info.ExpiresAt - slot.LeaseEndsAt).Duration() <= ClockSlack);
    }

    [Fact]
    public async Task Inspect_shows_the_newer_epoch_of_a_slot_before_its_first_number_is_applied()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, epoch: 0, from: 1, to: 2);
        await AcquireAsync(store, stream, epoch: 1, number: 1);

        var info = await AdminOf(store).InspectStreamAsync(stream, CancellationToken.None);

        Assert.Equal(0, info!.Epoch);
        Assert.Equal(2, info.LastSequenceNumber);
        Assert.Equal(1, info.Slot!.Epoch);
        Assert.Equal(1, info.Slot.SequenceNumber);
    }

    [Fact]
    public async Task Inspect_shows_no_slot_once_its_lease_has_expired()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, epoch: 0, from: 1, to: 1);
        await AcquireAsync(store, stream, epoch: 0, number: 2, lease: ShortLease);

        await AdvanceTimeAsync(ShortLease * 2);

        var info = await AdminOf(store).InspectStreamAsync(stream, CancellationToken.None);
        Assert.NotNull(info);
        Assert.Null(info.Slot);
        Assert.Equal(1, info.LastSequenceNumber);
    }

    [Fact]
    public async Task Inspect_finds_nothing_for_a_missing_stream_or_one_whose_only_slot_expired()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await AcquireAsync(store, stream, epoch: 0, number: 1, lease: ShortLease);

        await AdvanceTimeAsync(ShortLease * 2);

        Assert.Null(await AdminOf(store).InspectStreamAsync(stream, CancellationToken.None));
        Assert.Null(await AdminOf(store).InspectStreamAsync(NewStream(), CancellationToken.None));
    }

    [Fact]
    public async Task Reset_deletes_the_stream_so_its_next_number_is_1()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, epoch: 3, from: 1, to: 5);

        Assert.True(await AdminOf(store).ResetStreamAsync(stream, CancellationToken.None));

        Assert.Null(await AdminOf(store).InspectStreamAsync(stream, CancellationToken.None));
        Assert.Equal(SequenceBeginStatus.Acquired, (await BeginAsync(store, stream, 0, 1)).Status);
    }

    [Fact]
    public async Task Reset_fences_off_the_owner_of_the_slot()
    {
        var store = await CreateStoreAsync();
        var stream = NewStream();
        await ApplyRangeAsync(store, stream, epoch: 0, from: 1, to: 1);
        var oldToken = await AcquireAsync(store, stream, epoch: 0, number: 2);

        Assert.True(await AdminOf(store).ResetStreamAsync(stream, CancellationToken.None));
        var newToken = await AcquireAsync(store, stream, epoch: 0, number: 1);

        Assert.NotEqual(oldToken, newToken);
        Assert.False(await store.CompleteSequenceAsync(stream, oldToken, NumberedResponse(2), Window, LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseSequenceAsync(stream, oldToken, CancellationToken.None));
        Assert.Equal(newToken, (await AdminOf(store).InspectStreamAsync(stream, CancellationToken.None))!.Slot!.FencingToken);
    }

    [Fact]
    public async Task Reset_reports_false_for_a_missing_stream()
    {
        var store = await CreateStoreAsync();

        Assert.False(await AdminOf(store).ResetStreamAsync(NewStream(), CancellationToken.None));
    }

    /// <summary>The store as <see cref="IIdempotencyAdminStore"/>, which every store implements so that operators can inspect and repair it.</summary>
    protected static IIdempotencyAdminStore AdminOf(IIdempotencySequenceStore store)
        => store as IIdempotencyAdminStore
            ?? throw new Xunit.Sdk.XunitException($"{store.GetType().Name} does not implement {nameof(IIdempotencyAdminStore)}, which the admin endpoints need (docs/custom-store.md).");
}
