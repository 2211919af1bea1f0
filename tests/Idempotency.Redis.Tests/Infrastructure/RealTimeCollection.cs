namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// The classes whose tests hold short leases on Redis's real clock and check them within a second or two: they run
/// one after another, so they do not compete with each other for the machine's two cores while a lease runs.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RealTimeCollection
{
    public const string Name = "Redis real time";
}
