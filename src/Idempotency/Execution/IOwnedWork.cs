using Idempotency.Storage;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Execution;

/// <summary>
/// The operation an adapter runs while it owns a record or slot: an HTTP handler with its response captured, or a
/// worker's delegate with its result serialized. Implemented by structs where possible, so the engine's generic
/// <see cref="IdempotencyEngine.ExecuteAsync{TWork}"/> costs no allocation of its own.
/// </summary>
internal interface IOwnedWork
{
    /// <summary>The request the operation answers, for hooks; <see langword="null"/> outside HTTP.</summary>
    HttpContext? HttpContext { get; }

    /// <summary>Runs the operation. An exception releases the record (a retry runs again) and propagates.</summary>
    ValueTask RunAsync();

    /// <summary>
    /// The snapshot to record once <see cref="RunAsync"/> has returned, or <see langword="null"/> when the outcome
    /// must not be recorded (a status that is not storable): the record is then released.
    /// </summary>
    ValueTask<StoredResponse?> CreateResponseAsync();
}
