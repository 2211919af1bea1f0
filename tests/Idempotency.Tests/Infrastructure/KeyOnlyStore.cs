using Idempotency.Storage;
using Idempotency.Storage.InMemory;
using Microsoft.Extensions.Options;

namespace Idempotency.Tests.Infrastructure;

/// <summary>A store that keeps keyed records only (no <see cref="IIdempotencySequenceStore"/>): the in-memory store's key half.</summary>
public sealed class KeyOnlyStore(TimeProvider time) : IIdempotencyStore, IDisposable
{
    private readonly InMemoryIdempotencyStore _inner = new(Options.Create(new InMemoryIdempotencyStoreOptions()), time);

    public ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => _inner.TryBeginAsync(key, fingerprint, lease, cancellationToken);

    public ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => _inner.RenewLeaseAsync(key, fencingToken, lease, cancellationToken);

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
        => _inner.CompleteAsync(key, fencingToken, response, retention, cancellationToken);

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
        => _inner.ReleaseAsync(key, fencingToken, cancellationToken);

    public void Dispose() => _inner.Dispose();
}
