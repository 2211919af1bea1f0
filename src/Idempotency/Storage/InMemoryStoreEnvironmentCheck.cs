namespace Idempotency.Storage;

/// <summary>
/// What happens when the application starts outside the <c>Development</c> environment with the in-memory store. Its
/// records live in one process: several instances behind a load balancer cannot see each other's records (a retry that
/// reaches another instance runs its operation again), and a restart forgets every record.
/// </summary>
public enum InMemoryStoreEnvironmentCheck
{
    /// <summary>Logs a warning at start-up naming the environment and the fix (a shared store such as Redis), and serves.</summary>
    Warn = 0,

    /// <summary>Refuses to start: the host's start-up throws an <see cref="InvalidOperationException"/> that names the environment.</summary>
    Refuse = 1,

    /// <summary>Does not check, for an application that runs as one instance on purpose (a single-node service, a test).</summary>
    Off = 2,
}
