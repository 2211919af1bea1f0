namespace Idempotency.Storage;

/// <summary>The state of a live record, as <see cref="IIdempotencyAdminStore.InspectRecordAsync"/> reports it.</summary>
public enum IdempotencyRecordStatus
{
    /// <summary>A request owns the record under a lease and its handler has not finished.</summary>
    InFlight,

    /// <summary>The record holds a response that retries replay until its retention ends.</summary>
    Completed,
}
