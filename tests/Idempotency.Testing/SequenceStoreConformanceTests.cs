using Idempotency.Storage;
using Xunit;

namespace Idempotency.Testing;

/// <summary>
/// The stream half of the store contract (SPEC §4, <see cref="IIdempotencyStore.TryBeginSequenceAsync"/>) as executable
/// tests. Each store's test project derives from this class once per store configuration.
/// </summary>
public abstract class SequenceStoreConformanceTests
{
    /// <summary>A fresh store whose streams are isolated from other tests (for example by a unique key prefix).</summary>
    protected abstract Task<IIdempotencyStore> CreateStoreAsync();

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

    [Fact]
    public async Task First_number_of_a_new_stream_acquires()
    {
        var store = await CreateStoreAsync();

        var result = await store.TryBeginSequenceAsync(NewStream(), 0, 1, Fingerprint(1), TimeSpan.FromSeconds(30), CancellationToken.None);

        Assert.Equal(SequenceBeginStatus.Acquired, result.Status);
        Assert.NotEqual(0, result.FencingToken);
    }
}
