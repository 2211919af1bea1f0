namespace Idempotency.Storage;

/// <summary>The outcome of <see cref="IIdempotencySequenceStore.TryBeginSequenceAsync"/>.</summary>
public enum SequenceBeginStatus
{
    /// <summary>The number is next (<c>last + 1</c>) and the caller now owns the stream's in-flight slot.</summary>
    Acquired,

    /// <summary>The stream's in-flight slot is held by a live lease (this number with the same fingerprint, or a request of another epoch).</summary>
    InFlight,

    /// <summary>The number was applied and its response is still in the window, with the same fingerprint.</summary>
    Completed,

    /// <summary>The number was applied (or is in flight) with a different fingerprint.</summary>
    FingerprintMismatch,

    /// <summary>The number was applied but its response has left the window; it is never executed again.</summary>
    AlreadyApplied,

    /// <summary>The number is beyond <c>last + 1</c>: earlier numbers are missing.</summary>
    Gap,

    /// <summary>The request's epoch is older than the stream's: it comes from a superseded client incarnation.</summary>
    EpochFenced,
}
