using Idempotency.Storage;

namespace Idempotency.Execution;

/// <summary>
/// What an executing request or operation owns in the store: a key-mode record or a sequence stream's in-flight
/// slot, proved by its fencing token. Execution, lease renewal and completion are the same for both; only the store
/// operations differ, and <see cref="StoreCalls"/> tells them apart.
/// </summary>
internal readonly struct Ownership
{
    public Ownership(string key, long fencingToken, bool isStream, IIdempotencyStoreTransaction? transaction = null, long epoch = 0, long number = 0)
    {
        Key = key;
        FencingToken = fencingToken;
        IsStream = isStream;
        Transaction = transaction;
        Epoch = epoch;
        Number = number;
    }

    /// <summary>What <paramref name="begin"/> acquired of <paramref name="target"/>.</summary>
    public static Ownership Acquired(in StoreTarget target, in BeginResult begin)
        => new(target.Key, begin.FencingToken, target.IsStream, begin.Transaction, target.Epoch, target.Number);

    public string Key { get; }

    public long FencingToken { get; }

    public bool IsStream { get; }

    /// <summary>For a stream, the epoch of the owned number; 0 for a record.</summary>
    public long Epoch { get; }

    /// <summary>For a stream, the owned sequence number; 0 for a record.</summary>
    public long Number { get; }

    /// <summary>Under a transactional policy, the transaction that holds the record or slot until it commits or rolls back.</summary>
    public IIdempotencyStoreTransaction? Transaction { get; }
}
