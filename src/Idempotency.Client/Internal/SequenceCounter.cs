namespace Idempotency.Client.Internal;

/// <summary>The numbers of one stream and epoch: hands out each number once, in the order callers ask, from any thread.</summary>
internal sealed class SequenceCounter
{
    private long _last;

    public SequenceCounter(long first)
    {
        _last = first - 1;
    }

    public long Next()
    {
        var next = Interlocked.Increment(ref _last);

        // The protocol's numbers end at 2^63-1 (docs/contract.md §1); wrapping around would restart a stream the server has moved past.
        return next > 0
            ? next
            : throw new InvalidOperationException("The sequence stream has used up its numbers; start a new epoch.");
    }
}
