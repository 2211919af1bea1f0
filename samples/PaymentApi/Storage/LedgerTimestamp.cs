using System.Globalization;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace PaymentApi.Storage;

/// <summary>How the ledger takes and stores its timestamps, so that they read back equal and sort by time.</summary>
internal static class LedgerTimestamp
{
    // ISO 8601 round-trip text in UTC: fixed width, so it sorts correctly as text. The format the ledger has always
    // written on SQLite, so files from before the move to EF Core read as they did.
    private const string SqliteFormat = "O";

    /// <summary>
    /// SQLite has no date type (and EF Core cannot order by a <see cref="DateTimeOffset"/> there): the ledger stores
    /// text. PostgreSQL keeps its own <c>timestamptz</c>.
    /// </summary>
    public static readonly ValueConverter<DateTimeOffset, string> SqliteConverter = new(
        value => value.ToUniversalTime().ToString(SqliteFormat, CultureInfo.InvariantCulture),
        text => DateTimeOffset.ParseExact(text, SqliteFormat, CultureInfo.InvariantCulture));

    /// <summary>
    /// The time now in UTC, cut to whole microseconds: PostgreSQL keeps microseconds, so a timestamp with finer ticks
    /// would read back different from the one the API answered with when it was made.
    /// </summary>
    public static DateTimeOffset Now(TimeProvider timeProvider)
    {
        var now = timeProvider.GetUtcNow();
        return now.AddTicks(-(now.Ticks % (TimeSpan.TicksPerMillisecond / 1000)));
    }
}
