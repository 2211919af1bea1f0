using Idempotency.Chaos.History;

namespace Idempotency.Chaos.Hosting;

/// <summary>How one app instance of a scenario is set up.</summary>
public sealed class ChaosAppOptions
{
    /// <summary>A StackExchange.Redis configuration string; null runs the in-memory store.</summary>
    public string? Redis { get; init; }

    public string KeyPrefix { get; init; } = "chaos:";

    /// <summary>False for the control run: the endpoints are the same, the middleware is not in the pipeline.</summary>
    public bool IdempotencyEnabled { get; init; } = true;

    public TimeSpan StoreTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The Redis store's <c>ReplicasToAcknowledge</c>: replicas that must have a completion before the store reports it (0: none).</summary>
    public int ReplicasToAcknowledge { get; init; }

    /// <summary>The Redis store's <c>ReplicaAcknowledgeTimeout</c>, used when <see cref="ReplicasToAcknowledge"/> is above 0.</summary>
    public TimeSpan ReplicaAcknowledgeTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest response the <c>/large</c> endpoint's policy keeps for replay.</summary>
    public int LargeSnapshotLimit { get; init; } = 64 * 1024;

    /// <summary>Largest request body Kestrel accepts.</summary>
    public long MaxRequestBodySize { get; init; } = 1024 * 1024;

    /// <summary>Replaces the system clock (in-memory clock-jump scenarios); such an app runs on TestServer.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>
    /// Wraps the real store beneath the recording one: the negative control's deliberately broken store. The recording
    /// store sees (and the checker judges) what the wrapper answers.
    /// </summary>
    public Func<Idempotency.Storage.IIdempotencySequenceStore, Idempotency.Storage.IIdempotencySequenceStore>? WrapStore { get; init; }

    /// <summary>
    /// The least time a store call made between two moments of the run's clock provably spent on each leg between the
    /// app and the store (the proxy's latency); null when nothing delays it. Tightens the recorded lease times.
    /// </summary>
    public Func<TimeSpan, TimeSpan, TimeSpan>? StoreLatencyFloor { get; init; }

    /// <summary>The store's own command log (Redis's MONITOR feed), attached to every recorded lease after the run; null when there is none.</summary>
    public IStoreCommandLog? CommandLog { get; init; }

    /// <summary>Awaited by every handler after it recorded its execution and before it writes its response.</summary>
    public Func<HandlerContext, Task>? BeforeRespond { get; init; }
}
