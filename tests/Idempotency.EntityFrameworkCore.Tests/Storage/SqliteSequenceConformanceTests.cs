using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;

namespace Idempotency.EntityFrameworkCore.Tests.Storage;

/// <summary>The stream half of the store contract on Sqlite, by the database's real clock.</summary>
[Collection(SqliteStreamsCollection.Name)]
public sealed class SqliteSequenceConformanceTests(SqliteDatabase database) : SequenceStoreConformanceTests
{
    protected override Task<IIdempotencySequenceStore> CreateStoreAsync() => Task.FromResult<IIdempotencySequenceStore>(database.CreateStore());

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);

    protected override TimeSpan ShortLease => StoreDatabase.RealTimeShortLease;
}
