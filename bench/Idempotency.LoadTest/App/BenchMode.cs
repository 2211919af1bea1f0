namespace Idempotency.LoadTest.App;

/// <summary>What sits in front of the order handler in one bench app process.</summary>
public enum BenchMode
{
    /// <summary>Nothing: the baseline.</summary>
    None,

    /// <summary>Idempotency on with an optional-key policy, requests without a key (store: Redis when given, else memory).</summary>
    Passthrough,

    /// <summary>Idempotency with the in-memory store.</summary>
    Memory,

    /// <summary>Idempotency with the Redis store.</summary>
    Redis,

    /// <summary>ASP.NET Core Output Caching with its Redis store on GET: the peer the Redis replay path is compared with.</summary>
    OutputCache,
}

/// <summary>Names of modes on the command line and in results.</summary>
public static class BenchModes
{
    public static string Name(BenchMode mode) => mode switch
    {
        BenchMode.None => "none",
        BenchMode.Passthrough => "passthrough",
        BenchMode.Memory => "memory",
        BenchMode.Redis => "redis",
        BenchMode.OutputCache => "outputcache",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    public static BenchMode Parse(string name) => name.ToLowerInvariant() switch
    {
        "none" => BenchMode.None,
        "passthrough" => BenchMode.Passthrough,
        "memory" => BenchMode.Memory,
        "redis" => BenchMode.Redis,
        "outputcache" => BenchMode.OutputCache,
        _ => throw new ArgumentException($"Unknown mode '{name}'; use none, passthrough, memory, redis or outputcache."),
    };
}
