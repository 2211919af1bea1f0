using Idempotency.Storage;
using Idempotency.Storage.InMemory;

namespace Idempotency.Tests.Storage;

/// <summary>
/// The in-memory store for the property tests, with two things added: the run's keys are spread over two scopes
/// (records and streams of a scope share its usage), and after every operation the store's running counters (its size,
/// each scope's entries and bytes) must equal a recount from the entries themselves. A transition that leaks or
/// double-counts bytes fails the sequence at the step that did it, and the shrinker reduces it to that step.
/// </summary>
internal sealed class AccountingCheckedStore(InMemoryIdempotencyStore inner) : IIdempotencySequenceStore
{
    // Two scope partitions; the generated key names ("k0", "s1", ...) end in a digit that picks one.
    private const string EvenScope = "EEEEEEEEEEEEEEEE";
    private const string OddScope = "OOOOOOOOOOOOOOOO";

    public InMemoryIdempotencyStore Inner => inner;

    public async ValueTask<IdempotencyBeginResult> TryBeginAsync(string key, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => Checked(await inner.TryBeginAsync(Scoped(key), fingerprint, lease, cancellationToken));

    public async ValueTask<bool> RenewLeaseAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => Checked(await inner.RenewLeaseAsync(Scoped(key), fencingToken, lease, cancellationToken));

    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, StoredResponse response, TimeSpan retention, CancellationToken cancellationToken)
        => Checked(await inner.CompleteAsync(Scoped(key), fencingToken, response, retention, cancellationToken));

    public async ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken)
        => Checked(await inner.ReleaseAsync(Scoped(key), fencingToken, cancellationToken));

    public async ValueTask<SequenceBeginResult> TryBeginSequenceAsync(string streamKey, long epoch, long sequenceNumber, ReadOnlyMemory<byte> fingerprint, TimeSpan lease, CancellationToken cancellationToken)
        => Checked(await inner.TryBeginSequenceAsync(Scoped(streamKey), epoch, sequenceNumber, fingerprint, lease, cancellationToken));

    public async ValueTask<bool> RenewSequenceLeaseAsync(string streamKey, long fencingToken, TimeSpan lease, CancellationToken cancellationToken)
        => Checked(await inner.RenewSequenceLeaseAsync(Scoped(streamKey), fencingToken, lease, cancellationToken));

    public async ValueTask<bool> CompleteSequenceAsync(string streamKey, long fencingToken, StoredResponse response, int window, TimeSpan retention, CancellationToken cancellationToken)
        => Checked(await inner.CompleteSequenceAsync(Scoped(streamKey), fencingToken, response, window, retention, cancellationToken));

    public async ValueTask<bool> ReleaseSequenceAsync(string streamKey, long fencingToken, CancellationToken cancellationToken)
        => Checked(await inner.ReleaseSequenceAsync(Scoped(streamKey), fencingToken, cancellationToken));

    /// <summary>Once everything has expired and been swept, nothing may remain counted.</summary>
    public void AssertEmptyAfterExpiry(Action advanceFar)
    {
        advanceFar();
        inner.SweepExpired();
        Checked(true);
        Assert.Equal(0, inner.SizeBytes);
        Assert.Equal(0, inner.ScopeBytes(EvenScope));
        Assert.Equal(0, inner.ScopeBytes(OddScope));
    }

    private static string Scoped(string key) => ((key[^1] - '0') % 2 == 0 ? EvenScope : OddScope) + key;

    private T Checked<T>(T result)
    {
        if (inner.FindAccountingError() is { } error)
        {
            throw new Xunit.Sdk.XunitException($"The store's accounting is off: {error}.");
        }

        return result;
    }
}
