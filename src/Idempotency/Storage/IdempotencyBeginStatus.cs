namespace Idempotency.Storage;

/// <summary>The outcome of <see cref="IIdempotencyStore.TryBeginAsync"/>.</summary>
public enum IdempotencyBeginStatus
{
    /// <summary>The caller now owns a new in-flight record and should execute the request.</summary>
    Acquired,

    /// <summary>Another request with the same fingerprint holds a live lease.</summary>
    InFlight,

    /// <summary>The record is completed with the same fingerprint; its response can be replayed.</summary>
    Completed,

    /// <summary>A live record (in flight or completed) has a different fingerprint.</summary>
    FingerprintMismatch,
}
