using Idempotency.Storage;
using Xunit;

namespace Idempotency.Testing;

/// <summary>
/// The records half of <see cref="IIdempotencyAdminStore"/>: what an operator sees of a record and what deleting one
/// does. Times are the store's own, so they are checked against each other, never against this machine's clock.
/// </summary>
public abstract partial class IdempotencyStoreConformanceTests
{
    // Two readings of one store's clock a test apart differ by the test's own duration at most; a minute covers a slow
    // machine against a real server.
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Inspect_shows_an_in_flight_record_with_its_owners_token_and_lease_end()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1), LongLease);

        var record = await AdminOf(store).InspectRecordAsync(key, CancellationToken.None);

        Assert.NotNull(record);
        Assert.Equal(IdempotencyRecordStatus.InFlight, record.Status);
        Assert.Equal(token, record.FencingToken);
        Assert.Null(record.Response);

        // A renewal for twice the lease moves the lease end by about one lease, on whatever clock the store keeps.
        Assert.True(await store.RenewLeaseAsync(key, token, LongLease * 2, CancellationToken.None));
        var renewed = await AdminOf(store).InspectRecordAsync(key, CancellationToken.None);
        AssertAbout(LongLease, renewed!.ExpiresAt - record.ExpiresAt);
    }

    [Fact]
    public async Task Inspect_shows_a_completed_record_with_its_response_and_retention_end()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1), LongLease);
        var inFlight = await AdminOf(store).InspectRecordAsync(key, CancellationToken.None);
        var response = new StoredResponse(201, [new("Content-Type", "application/json"), new("Location", "/orders/1001")], "{\"id\":1001}"u8.ToArray());
        Assert.True(await store.CompleteAsync(key, token, response, LongLease * 3, CancellationToken.None));

        var record = await AdminOf(store).InspectRecordAsync(key, CancellationToken.None);

        Assert.NotNull(record);
        Assert.Equal(IdempotencyRecordStatus.Completed, record.Status);
        Assert.Equal(0, record.FencingToken);
        AssertReplays(response, IdempotencyBeginResult.Completed(Assert.IsType<StoredResponse>(record.Response)));
        AssertAbout(LongLease * 2, record.ExpiresAt - inFlight!.ExpiresAt);
    }

    [Fact]
    public async Task Inspect_shows_a_response_kept_without_its_body_as_such()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var response = new StoredResponse(201, [], ReadOnlyMemory<byte>.Empty, isBodyStored: false);
        await CompleteNewAsync(store, key, Fingerprint(1), response, LongLease);

        var record = await AdminOf(store).InspectRecordAsync(key, CancellationToken.None);

        Assert.False(Assert.IsType<StoredResponse>(record!.Response).IsBodyStored);
    }

    [Fact]
    public async Task Inspect_finds_nothing_for_a_released_record_or_one_never_created()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var token = await AcquireAsync(store, key, Fingerprint(1));
        Assert.True(await store.ReleaseAsync(key, token, CancellationToken.None));

        Assert.Null(await AdminOf(store).InspectRecordAsync(key, CancellationToken.None));
        Assert.Null(await AdminOf(store).InspectRecordAsync(NewKey(), CancellationToken.None));
    }

    [Fact]
    public async Task Inspect_finds_nothing_once_the_lease_has_expired()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        await AcquireAsync(store, key, Fingerprint(1), ShortLease);

        await AdvanceTimeAsync(ShortLease * 2);

        Assert.Null(await AdminOf(store).InspectRecordAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task Delete_of_a_completed_record_lets_the_next_begin_execute_again()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        await CompleteNewAsync(store, key, Fingerprint(1), TextResponse(201, "charged"), LongLease);

        Assert.True(await AdminOf(store).DeleteRecordAsync(key, CancellationToken.None));

        Assert.Null(await AdminOf(store).InspectRecordAsync(key, CancellationToken.None));
        var next = await store.TryBeginAsync(key, Fingerprint(2), LongLease, CancellationToken.None);
        Assert.Equal(IdempotencyBeginStatus.Acquired, next.Status);
    }

    [Fact]
    public async Task Delete_of_an_in_flight_record_fences_off_its_owner()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        var oldToken = await AcquireAsync(store, key, Fingerprint(1));

        Assert.True(await AdminOf(store).DeleteRecordAsync(key, CancellationToken.None));
        var newToken = await AcquireAsync(store, key, Fingerprint(1));

        Assert.NotEqual(oldToken, newToken);
        Assert.False(await store.RenewLeaseAsync(key, oldToken, LongLease, CancellationToken.None));
        Assert.False(await store.CompleteAsync(key, oldToken, TextResponse(201, "late"), LongLease, CancellationToken.None));
        Assert.False(await store.ReleaseAsync(key, oldToken, CancellationToken.None));
        var record = await AdminOf(store).InspectRecordAsync(key, CancellationToken.None);
        Assert.Equal(newToken, record!.FencingToken);
    }

    [Fact]
    public async Task Delete_reports_false_for_a_missing_or_expired_record()
    {
        var store = await CreateStoreAsync();
        var key = NewKey();
        await AcquireAsync(store, key, Fingerprint(1), ShortLease);
        await AdvanceTimeAsync(ShortLease * 2);

        Assert.False(await AdminOf(store).DeleteRecordAsync(key, CancellationToken.None));
        Assert.False(await AdminOf(store).DeleteRecordAsync(NewKey(), CancellationToken.None));
    }

    [Fact]
    public async Task Delete_touches_only_its_own_record()
    {
        var store = await CreateStoreAsync();
        var kept = NewKey();
        var deleted = NewKey();
        var response = TextResponse(201, "kept");
        await CompleteNewAsync(store, kept, Fingerprint(1), response, LongLease);
        await CompleteNewAsync(store, deleted, Fingerprint(1), response, LongLease);

        Assert.True(await AdminOf(store).DeleteRecordAsync(deleted, CancellationToken.None));

        AssertReplays(response, await store.TryBeginAsync(kept, Fingerprint(1), LongLease, CancellationToken.None));
    }

    /// <summary>The store as <see cref="IIdempotencyAdminStore"/>, which every store implements so that operators can inspect and repair it.</summary>
    protected static IIdempotencyAdminStore AdminOf(IIdempotencyStore store)
        => store as IIdempotencyAdminStore
            ?? throw new Xunit.Sdk.XunitException($"{store.GetType().Name} does not implement {nameof(IIdempotencyAdminStore)}, which the admin endpoints need (docs/custom-store.md).");

    private static void AssertAbout(TimeSpan expected, TimeSpan actual)
        => Assert.True((actual - expected).Duration() <= ClockSlack, $"Expected about {expected}, but the store's times were {actual} apart.");
}
