using R = Idempotency.EntityFrameworkCore.Relational.Schema.Records;
using F = Idempotency.EntityFrameworkCore.Relational.Schema.Fencing;
using S = Idempotency.EntityFrameworkCore.Relational.Schema.Streams;
using W = Idempotency.EntityFrameworkCore.Relational.Schema.StreamResponses;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// Every statement the store runs, built once per dialect. Only <see cref="SqlDialect.Now"/> and
/// <see cref="SqlDialect.RowLock"/> differ between providers; the rest is SQL both PostgreSQL and SQLite run
/// (<c>ON CONFLICT</c>, <c>RETURNING</c>, <c>LIMIT</c> in a subquery, <c>@name</c> parameters, quoted identifiers).
/// Every expiry is computed and compared here, by the database's clock. See readme.md for each statement's purpose.
/// </summary>
internal sealed class StoreSql
{
    public const string Key = "@k";
    public const string Fingerprint = "@f";
    public const string Token = "@t";
    public const string Duration = "@d";
    public const string Response = "@r";
    public const string Epoch = "@e";
    public const string Sequence = "@n";
    public const string Below = "@w";
    public const string Count = "@c";

    private static StoreSql? s_postgreSql;
    private static StoreSql? s_sqlite;

    private StoreSql(SqlDialect dialect)
    {
        var now = dialect.Now;
        var expiry = $"({now} + {Duration})";

        // One round trip decides a begin: the upsert creates the record or takes over an expired one, and the SELECT
        // that follows reads whatever is there now. The caller owns it exactly when it holds the caller's token.
        // The upsert is not even tried against a live record it can see: ON CONFLICT DO UPDATE locks the row it
        // conflicts with even when its WHERE updates nothing, and inside a request transaction that lock lasts until
        // the transaction ends, so each duplicate replaying a completed record would make the next one wait out its
        // lock timeout and answer 409 in flight. A record it cannot see yet (another transaction's uncommitted row) is
        // still met on the unique index, and waited for.
        BeginRecord =
            $"""
            INSERT INTO "{R.Table}" ("{R.Key}", "{R.Fingerprint}", "{R.State}", "{R.FencingToken}", "{R.ExpiresAt}", "{R.Response}")
            SELECT {Key}, {Fingerprint}, {R.InFlight}, {Token}, {expiry}, NULL
            WHERE NOT EXISTS (SELECT 1 FROM "{R.Table}" WHERE "{R.Key}" = {Key} AND "{R.ExpiresAt}" > {now})
            ON CONFLICT ("{R.Key}") DO UPDATE SET "{R.Fingerprint}" = excluded."{R.Fingerprint}", "{R.State}" = {R.InFlight},
                "{R.FencingToken}" = excluded."{R.FencingToken}", "{R.ExpiresAt}" = excluded."{R.ExpiresAt}", "{R.Response}" = NULL
            WHERE "{R.Table}"."{R.ExpiresAt}" <= {now};
            SELECT "{R.Fingerprint}", "{R.State}", "{R.FencingToken}", "{R.ExpiresAt}" > {now}, "{R.Response}"
            FROM "{R.Table}" WHERE "{R.Key}" = {Key}
            """;

        var owned = $"""WHERE "{R.Key}" = {Key} AND "{R.FencingToken}" = {Token} AND "{R.State}" = {R.InFlight}""";
        var live = $"""AND "{R.ExpiresAt}" > {now}""";
        RenewRecord = $"""UPDATE "{R.Table}" SET "{R.ExpiresAt}" = {expiry} {owned} {live}""";
        var complete = $"""UPDATE "{R.Table}" SET "{R.State}" = {R.Completed}, "{R.Response}" = {Response}, "{R.ExpiresAt}" = {expiry} {owned}""";
        CompleteRecord = $"{complete} {live}";

        // Inside a request transaction the record is the transaction's own row: nobody can take it over while the
        // transaction lives (a concurrent begin waits on it), so an expired lease does not matter there.
        CompleteRecordInTransaction = complete;

        // The completion and the COMMIT in one round trip, where the dialect allows it (SqlDialect.CommitsWithLastStatement).
        // A completion that touched no row must not commit the handler's writes: 1 / 0 fails the statement, and the
        // COMMIT after a failed statement is never run (the caller then rolls back).
        CompleteRecordAndCommit =
            $"""
            WITH completed AS ({complete} RETURNING 1)
            SELECT 1 / count(*) FROM completed;
            COMMIT
            """;

        ReleaseRecord = $"""DELETE FROM "{R.Table}" {owned} {live}""";

        ReserveTokens = $"""UPDATE "{F.Table}" SET "{F.NextToken}" = "{F.NextToken}" + {Count} WHERE "{F.Id}" = {F.CounterId} RETURNING "{F.NextToken}" """;
        CreateTokenCounter = $"""INSERT INTO "{F.Table}" ("{F.Id}", "{F.NextToken}") VALUES ({F.CounterId}, 0) ON CONFLICT ("{F.Id}") DO NOTHING""";

        // A stream begin reads the stream and the requested number's kept response first, without a lock: a number the
        // stream has applied, or an epoch it has left behind, is decided by what is committed, and stays decided (a
        // stream's epoch and last applied number only grow while it lives). Such a begin must not lock the stream: in a
        // request transaction the lock would last until that transaction ends, and every other duplicate, and the
        // stream's next number, would wait out its lock timeout and answer 409 in flight. Only a begin that is not
        // decided by the read locks the row: a placeholder row (expired at 0, so a missing stream) is inserted when
        // there is none, so that there is always a row to lock, and the locking SELECT skips a row whose latest
        // version decides the begin after all (another transaction applied the number while this one waited), so the
        // caller reads it again.
        var decided = $"""("{S.ExpiresAt}" > {now} AND ("{S.Epoch}" > {Epoch} OR ("{S.Epoch}" = {Epoch} AND "{S.LastSequence}" >= {Sequence})))""";
        BeginStream =
            $"""
            SELECT s."{S.Epoch}", s."{S.LastSequence}", s."{S.ExpiresAt}" > {now}, w."{W.Fingerprint}", w."{W.Response}"
            FROM "{S.Table}" s LEFT JOIN "{W.Table}" w ON w."{W.StreamKey}" = s."{S.Key}" AND w."{W.Sequence}" = {Sequence}
            WHERE s."{S.Key}" = {Key};
            INSERT INTO "{S.Table}" ("{S.Key}", "{S.Epoch}", "{S.LastSequence}", "{S.RetainUntil}", "{S.SlotToken}", "{S.SlotEpoch}",
                "{S.SlotSequence}", "{S.SlotFingerprint}", "{S.SlotExpiresAt}", "{S.ExpiresAt}")
            SELECT {Key}, 0, 0, 0, 0, 0, 0, NULL, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM "{S.Table}" WHERE "{S.Key}" = {Key})
            ON CONFLICT ("{S.Key}") DO NOTHING;
            SELECT "{S.Epoch}", "{S.LastSequence}", "{S.ExpiresAt}" > {now}, "{S.SlotToken}", "{S.SlotEpoch}", "{S.SlotSequence}",
                "{S.SlotFingerprint}", "{S.SlotExpiresAt}" > {now}
            FROM "{S.Table}" WHERE "{S.Key}" = {Key} AND NOT {decided}{dialect.RowLock}
            """;

        var laterOfRetentionAndLease = $"""CASE WHEN "{S.RetainUntil}" > {expiry} THEN "{S.RetainUntil}" ELSE {expiry} END""";
        var takeSlot = $"""
            "{S.SlotToken}" = {Token}, "{S.SlotEpoch}" = {Epoch}, "{S.SlotSequence}" = {Sequence}, "{S.SlotFingerprint}" = {Fingerprint},
                "{S.SlotExpiresAt}" = {expiry}
            """;
        AcquireSlot = $"""UPDATE "{S.Table}" SET {takeSlot}, "{S.ExpiresAt}" = {laterOfRetentionAndLease} WHERE "{S.Key}" = {Key}""";

        // A stream that expired (or never lived) starts over: nothing applied, nothing kept, no retention.
        AcquireSlotOfMissingStream =
            $"""
            DELETE FROM "{W.Table}" WHERE "{W.StreamKey}" = {Key};
            UPDATE "{S.Table}" SET "{S.Epoch}" = 0, "{S.LastSequence}" = 0, "{S.RetainUntil}" = 0, {takeSlot}, "{S.ExpiresAt}" = {expiry}
            WHERE "{S.Key}" = {Key}
            """;

        var slotOwned = $"""WHERE "{S.Key}" = {Key} AND "{S.SlotToken}" = {Token}""";
        var slotLive = $"""AND "{S.SlotExpiresAt}" > {now}""";
        RenewSlot = $"""UPDATE "{S.Table}" SET "{S.SlotExpiresAt}" = {expiry}, "{S.ExpiresAt}" = {laterOfRetentionAndLease} {slotOwned} {slotLive}""";
        var freeSlot = $"""
            "{S.SlotToken}" = 0, "{S.SlotEpoch}" = 0, "{S.SlotSequence}" = 0, "{S.SlotFingerprint}" = NULL, "{S.SlotExpiresAt}" = 0
            """;
        ReleaseSlot = $"""UPDATE "{S.Table}" SET {freeSlot}, "{S.ExpiresAt}" = "{S.RetainUntil}" {slotOwned} {slotLive}""";

        var readSlot = $"""SELECT "{S.Epoch}", "{S.SlotEpoch}", "{S.SlotSequence}", "{S.SlotFingerprint}" FROM "{S.Table}" {slotOwned}""";
        ReadOwnedSlot = $"{readSlot} {slotLive}{dialect.RowLock}";
        ReadOwnedSlotInTransaction = $"{readSlot}{dialect.RowLock}";

        var apply =
            $"""
            INSERT INTO "{W.Table}" ("{W.StreamKey}", "{W.Sequence}", "{W.Fingerprint}", "{W.Response}") VALUES ({Key}, {Sequence}, {Fingerprint}, {Response})
            ON CONFLICT ("{W.StreamKey}", "{W.Sequence}") DO UPDATE SET "{W.Fingerprint}" = excluded."{W.Fingerprint}", "{W.Response}" = excluded."{W.Response}";
            DELETE FROM "{W.Table}" WHERE "{W.StreamKey}" = {Key} AND "{W.Sequence}" <= {Below};
            UPDATE "{S.Table}" SET "{S.Epoch}" = {Epoch}, "{S.LastSequence}" = {Sequence}, "{S.RetainUntil}" = {expiry}, {freeSlot},
                "{S.ExpiresAt}" = {expiry}
            WHERE "{S.Key}" = {Key}
            """;
        ApplySlot = apply;
        ApplySlotOfNewEpoch = $"""DELETE FROM "{W.Table}" WHERE "{W.StreamKey}" = {Key};{"\n"}{apply}""";

        // The outer "expires_at <= now" is checked again on the row the DELETE finally locks: a record taken over
        // between the subquery and the delete is kept. A row a request transaction holds (it took the expired record
        // over) is skipped (PostgreSQL), not waited for: the purge would wait for the whole handler, and every request
        // for a key the purge already deleted in the batch would wait behind it.
        PurgeRecords = $"""
            DELETE FROM "{R.Table}" WHERE "{R.Key}" IN (SELECT "{R.Key}" FROM "{R.Table}" WHERE "{R.ExpiresAt}" <= {now} LIMIT {Count}{dialect.RowLockSkippingHeld})
            AND "{R.ExpiresAt}" <= {now}
            """;

        // A stream's window goes first, then the stream once it has no window left, so that a window row never outlives
        // its stream (the two statements may pick different streams: one can expire between them). Both skip a stream
        // that a request transaction holds (PostgreSQL), as for records: that transaction may complete it, and its window
        // then stays its window. The outer "expires_at <= now" is the same check on the locked row as for records.
        PurgeStreamResponses = $"""
            DELETE FROM "{W.Table}" WHERE "{W.StreamKey}" IN (SELECT "{S.Key}" FROM "{S.Table}" WHERE "{S.ExpiresAt}" <= {now} LIMIT {Count}{dialect.RowLockSkippingHeld})
            """;
        PurgeStreams = $"""
            DELETE FROM "{S.Table}" WHERE "{S.Key}" IN (
                SELECT s."{S.Key}" FROM "{S.Table}" s WHERE s."{S.ExpiresAt}" <= {now}
                AND NOT EXISTS (SELECT 1 FROM "{W.Table}" w WHERE w."{W.StreamKey}" = s."{S.Key}") LIMIT {Count}{dialect.RowLockSkippingHeld})
            AND "{S.ExpiresAt}" <= {now}
            """;
    }

    public string BeginRecord { get; }

    public string RenewRecord { get; }

    public string CompleteRecord { get; }

    public string CompleteRecordInTransaction { get; }

    public string CompleteRecordAndCommit { get; }

    public string ReleaseRecord { get; }

    public string ReserveTokens { get; }

    public string CreateTokenCounter { get; }

    public string BeginStream { get; }

    public string AcquireSlot { get; }

    public string AcquireSlotOfMissingStream { get; }

    public string RenewSlot { get; }

    public string ReleaseSlot { get; }

    public string ReadOwnedSlot { get; }

    public string ReadOwnedSlotInTransaction { get; }

    public string ApplySlot { get; }

    public string ApplySlotOfNewEpoch { get; }

    public string PurgeRecords { get; }

    public string PurgeStreamResponses { get; }

    public string PurgeStreams { get; }

    public static StoreSql For(SqlDialect dialect) => dialect is PostgreSqlDialect
        ? s_postgreSql ??= new StoreSql(dialect)
        : s_sqlite ??= new StoreSql(dialect);
}
