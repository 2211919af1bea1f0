namespace Idempotency.Storage;

/// <summary>Why a store refused to take on a new record or stream; the <c>reason</c> of <see cref="IdempotencyStoreCapacityException"/>.</summary>
public enum StoreCapacityReason
{
    /// <summary>The store has no room left for anyone: records and streams within their retention fill it.</summary>
    StoreFull,

    /// <summary>The caller's scope already holds as much as one scope may, however much room the store has.</summary>
    ScopeQuotaExceeded,
}
