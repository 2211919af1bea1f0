using Idempotency.Storage;
using Xunit;

namespace Idempotency.Testing;

/// <summary>
/// The store contract as executable tests. Each store's test project derives from this class once per store
/// configuration (in-memory, Redis standalone, Redis Cluster) and every test here runs against it.
/// </summary>
public abstract class IdempotencyStoreConformanceTests
{
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

    [Fact]
    public async Task First_begin_acquires_with_a_nonzero_token()
    {
        var store = await CreateStoreAsync();

        var result = await store.TryBeginAsync(NewKey(), Fingerprint(1), TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(IdempotencyBeginStatus.Acquired, result.Status);
        Assert.NotEqual(0, result.FencingToken);
    }
}
