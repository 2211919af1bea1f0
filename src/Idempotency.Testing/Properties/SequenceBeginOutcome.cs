using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>
/// What <see cref="StreamStoreModel.Begin"/> answers: the status, the model token when acquired, the response index when
/// completed, <c>last</c> for a gap or an applied number, the stream's epoch when fenced.
/// </summary>
internal readonly record struct SequenceBeginOutcome(SequenceBeginStatus Status, long Token, int? Response, long LastSequence, long CurrentEpoch);
