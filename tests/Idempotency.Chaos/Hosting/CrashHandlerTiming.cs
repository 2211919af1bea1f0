namespace Idempotency.Chaos.Hosting;

/// <summary>
/// How the crash-test app's handler spends its time: a random pause up to <see cref="BeforeSave"/> before its write
/// and up to <see cref="AfterSave"/> after it, so that random kills land on either side; and the records' lease.
/// </summary>
public sealed record CrashHandlerTiming(TimeSpan BeforeSave, TimeSpan AfterSave, TimeSpan Lease);
