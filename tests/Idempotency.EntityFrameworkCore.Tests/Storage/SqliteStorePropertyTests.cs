using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;
using Idempotency.Testing.Properties;
using Xunit.Abstractions;

namespace Idempotency.EntityFrameworkCore.Tests.Storage;

/// <summary>
/// The property tests on Sqlite, by the database's real clock: 15% of the sequences use 300 ms leases and retentions
/// and wait 0.7 s once, the rest 10-minute durations (as the Redis store's run). Each sequence starts from empty tables.
/// </summary>
[Collection(SqlitePropertiesCollection.Name)]
public sealed class SqliteStorePropertyTests(SqliteDatabase database, ITestOutputHelper output) : SequenceStorePropertyTests(output)
{
    protected override PropertyTimeProfile TimeProfile { get; } = PropertyTimeProfile.RealClock(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(700), timedPercent: 15);

    protected override int DefaultRuns => 40;

    // The collection's tests run one at a time, so emptying the shared tables cannot disturb another test.
    protected override async Task<IIdempotencySequenceStore> CreateSequenceStoreAsync()
    {
        await database.ClearAsync();
        return database.CreateStore();
    }

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);
}
