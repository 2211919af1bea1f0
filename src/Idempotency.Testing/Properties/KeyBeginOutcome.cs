using Idempotency.Storage;

namespace Idempotency.Testing.Properties;

/// <summary>What <see cref="KeyStoreModel.Begin"/> answers: the status, the model token when acquired, the response index when completed.</summary>
internal readonly record struct KeyBeginOutcome(IdempotencyBeginStatus Status, long Token, int? Response);
