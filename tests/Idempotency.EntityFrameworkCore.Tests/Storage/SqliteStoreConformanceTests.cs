using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.Storage;
using Idempotency.Testing;

namespace Idempotency.EntityFrameworkCore.Tests.Storage;

/// <summary>The keyed half of the store contract on Sqlite, by the database's real clock.</summary>
[Collection(SqliteKeysCollection.Name)]
public sealed class SqliteStoreConformanceTests(SqliteDatabase database) : IdempotencyStoreConformanceTests
{
    protected override Task<IIdempotencyStore> CreateStoreAsync() => Task.FromResult<IIdempotencyStore>(database.CreateStore());

    protected override Task AdvanceTimeAsync(TimeSpan duration) => RealTime.WaitAsync(duration);

    protected override TimeSpan ShortLease => StoreDatabase.RealTimeShortLease;
}
