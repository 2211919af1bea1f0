using Idempotency.Storage;

namespace Idempotency.Execution;

/// <summary>
/// What an executing request or operation owns in the store: a key-mode record or a sequence stream's in-flight
/// slot, proved by its fencing token. Execution, lease renewal and completion are the same for both; only the store
/// operations differ, and <see cref="StoreCalls"/> tells them apart.
/// </summary>
internal readonly struct Ownership
{
    public Ownership(string key, long fencingToken, bool isStream, IIdempotencyStoreTransaction? transaction = null)
    {
        Key = key;
        FencingToken = fencingToken;
        IsStream = isStream;
        Transaction = transaction;
    }

    public string Key { get; }

    public long FencingToken { get; }

    public bool IsStream { get; }

    /// <summary>Under a transactional policy, the transaction that holds the record or slot until it commits or rolls back.</summary>
    public IIdempotencyStoreTransaction? Transaction { get; }
}
