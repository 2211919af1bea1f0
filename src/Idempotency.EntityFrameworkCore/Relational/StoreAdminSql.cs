using R = Idempotency.EntityFrameworkCore.Relational.Schema.Records;
using S = Idempotency.EntityFrameworkCore.Relational.Schema.Streams;
using W = Idempotency.EntityFrameworkCore.Relational.Schema.StreamResponses;

namespace Idempotency.EntityFrameworkCore.Relational;

/// <summary>
/// The statements of the operator's view and repairs (<see cref="Storage.IIdempotencyAdminStore"/>), built once per
/// dialect like <see cref="StoreSql"/>'s and, like them, judging liveness by the database's clock.
/// </summary>
internal sealed class StoreAdminSql
{
    private static StoreAdminSql? s_postgreSql;
    private static StoreAdminSql? s_sqlite;

    private StoreAdminSql(SqlDialect dialect)
    {
        var now = dialect.Now;
        var key = StoreSql.Key;
        InspectRecord = $"""
            SELECT "{R.State}", "{R.FencingToken}", "{R.ExpiresAt}", "{R.Response}" FROM "{R.Table}" WHERE "{R.Key}" = {key} AND "{R.ExpiresAt}" > {now}
            """;

        // An expired row goes too (the purge would take it anyway); only a live one counts as deleted.
        DeleteRecord = $"""DELETE FROM "{R.Table}" WHERE "{R.Key}" = {key} RETURNING "{R.ExpiresAt}" > {now}""";

        // One statement each, so each reads one state of the stream: the window is read joined to the stream and cut at
        // its last number, so a complete between the two never shows a number above the stream's last.
        InspectStream = $"""
            SELECT "{S.Epoch}", "{S.LastSequence}", "{S.SlotToken}", "{S.SlotEpoch}", "{S.SlotSequence}", "{S.SlotExpiresAt}",
                "{S.SlotExpiresAt}" > {now}, "{S.ExpiresAt}"
            FROM "{S.Table}" WHERE "{S.Key}" = {key} AND "{S.ExpiresAt}" > {now};
            SELECT w."{W.Sequence}", w."{W.Response}" FROM "{W.Table}" w JOIN "{S.Table}" s ON s."{S.Key}" = w."{W.StreamKey}"
            WHERE w."{W.StreamKey}" = {key} AND s."{S.ExpiresAt}" > {now} AND w."{W.Sequence}" <= s."{S.LastSequence}"
            ORDER BY w."{W.Sequence}"
            """;

        // The window first, as the purge does, so that a window row never outlives its stream.
        ResetStreamWindow = $"""DELETE FROM "{W.Table}" WHERE "{W.StreamKey}" = {key}""";
        ResetStream = $"""DELETE FROM "{S.Table}" WHERE "{S.Key}" = {key} RETURNING "{S.ExpiresAt}" > {now}""";
    }

    public string InspectRecord { get; }

    public string DeleteRecord { get; }

    public string InspectStream { get; }

    public string ResetStreamWindow { get; }

    public string ResetStream { get; }

    public static StoreAdminSql For(SqlDialect dialect) => dialect is PostgreSqlDialect
        ? s_postgreSql ??= new StoreAdminSql(dialect)
        : s_sqlite ??= new StoreAdminSql(dialect);
}
