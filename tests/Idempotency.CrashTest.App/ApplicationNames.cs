using System.Globalization;

namespace Idempotency.CrashTest.App;

/// <summary>
/// The <c>Application Name</c> of an instance's PostgreSQL sessions: <c>crash:&lt;instance&gt;:&lt;pid&gt;</c>. The harness
/// (tests/Idempotency.Chaos, PostgreSqlLockWatch) reads it back from pg_stat_activity to name the process behind a
/// session.
/// </summary>
public static class ApplicationNames
{
    public const string Prefix = "crash:";

    public static string For(string instance, int processId) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{instance}:{processId}");
}
