namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// The table and column names, said once: the model mapping (<see cref="Microsoft.EntityFrameworkCore.IdempotencyModelBuilderExtensions"/>)
/// creates them and the store's SQL (<see cref="StoreSql"/>) uses them. Renaming one changes the schema of every
/// existing database: add a migration, never rename silently.
/// </summary>
internal static class Schema
{
    /// <summary>The longest record or stream key the middleware produces.</summary>
    public const int KeyLength = 64;

    public static class Records
    {
        public const string Table = "idempotency_records";
        public const string Key = "key";
        public const string Fingerprint = "fingerprint";
        public const string State = "state";
        public const string FencingToken = "fencing_token";
        public const string ExpiresAt = "expires_at";
        public const string Response = "response";
        public const string ExpiresAtIndex = "ix_idempotency_records_expires_at";

        /// <summary>Values of <see cref="State"/>.</summary>
        public const short InFlight = 1;
        public const short Completed = 2;
    }

    public static class Streams
    {
        public const string Table = "idempotency_streams";
        public const string Key = "stream_key";
        public const string Epoch = "epoch";
        public const string LastSequence = "last_sequence";
        public const string RetainUntil = "retain_until";
        public const string SlotToken = "slot_token";
        public const string SlotEpoch = "slot_epoch";
        public const string SlotSequence = "slot_sequence";
        public const string SlotFingerprint = "slot_fingerprint";
        public const string SlotExpiresAt = "slot_expires_at";
        public const string ExpiresAt = "expires_at";
        public const string ExpiresAtIndex = "ix_idempotency_streams_expires_at";
    }

    public static class StreamResponses
    {
        public const string Table = "idempotency_stream_responses";
        public const string StreamKey = "stream_key";
        public const string Sequence = "sequence";
        public const string Fingerprint = "fingerprint";
        public const string Response = "response";
    }

    public static class Fencing
    {
        public const string Table = "idempotency_fencing";
        public const string Id = "id";
        public const string NextToken = "next_token";

        /// <summary>The one row of the counter.</summary>
        public const int CounterId = 1;
    }
}
