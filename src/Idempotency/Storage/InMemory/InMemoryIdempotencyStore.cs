using Microsoft.Extensions.Options;

namespace Idempotency.Storage.InMemory;

/// <summary>The default store: records of one process, in memory, expiring by <see cref="TimeProvider"/>.</summary>
internal sealed class InMemoryIdempotencyStore : IIdempotencyStore, IDisposable
{
    public InMemoryIdempotencyStore(IOptions<InMemoryIdempotencyStoreOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
    }

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken) => throw new NotImplementedException();

    public void Dispose()
    {
    }
}
