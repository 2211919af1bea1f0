using System.Globalization;
using Idempotency.LoadTest.App;

namespace Idempotency.LoadTest.Runner.Scale;

/// <summary>
/// What a scale run (<c>bench/run.sh scale</c>) does. The defaults fill Redis with 1,000,000 records and the in-memory
/// store to its library-default limit of 256 MiB (both behind the trivial handler), about ten minutes on two quiet cores;
/// <c>--records 50000</c> scales both down for development.
/// </summary>
public sealed record ScaleSettings
{
    public const long FullRecords = 1_000_000;

    /// <summary>The in-memory store's limit at <see cref="FullRecords"/>: the library's default <c>SizeLimitBytes</c>.</summary>
    public const long FullMemoryLimitBytes = 256L * 1024 * 1024;

    /// <summary>Records in Redis at the last checkpoint; the others are a hundredth and a tenth of it.</summary>
    public long Records { get; init; } = FullRecords;

    /// <summary>The in-memory store's <c>SizeLimitBytes</c>; by default 256 MiB scaled by <see cref="Records"/> / 1,000,000.</summary>
    public long? MemoryLimitBytes { get; init; }

    public long EffectiveMemoryLimitBytes => MemoryLimitBytes ?? Math.Max(1024 * 1024, FullMemoryLimitBytes * Records / FullRecords);

    /// <summary>Each checkpoint's replay and first-execution measurements.</summary>
    public TimeSpan MeasureDuration { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The longest fill window (wrk run) between two samples of the store.</summary>
    public TimeSpan MaxWindow { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// wrk threads: one, as in the main run (the other core is the server's), and so that the keys wrk completed are
    /// known: each thread numbers its own keys, and the requests each thread completed are not reported.
    /// </summary>
    public int Threads => 1;

    public int Connections { get; init; } = 32;

    public int Size { get; init; } = 4 * 1024;

    public BenchHandler Handler { get; init; } = BenchHandler.Trivial;

    /// <summary>Stored keys each replay measurement cycles through, drawn at random from the whole fill so far.</summary>
    public int ReplayKeys { get; init; } = 256;

    /// <summary>Redis keys whose <c>MEMORY USAGE</c> is read at each checkpoint (<c>RANDOMKEY</c>).</summary>
    public int MemoryUsageSamples { get; init; } = 64;

    public bool Redis { get; init; } = true;

    public bool Memory { get; init; } = true;

    /// <summary>Also fills a second in-memory store, with <c>EvictLiveRecordsWhenFull</c>, past its limit.</summary>
    public bool MemoryEvict { get; init; } = true;

    public string OutputDirectory { get; init; } = "bench/results";

    public string Label { get; init; } = string.Empty;

    public bool KeepDatedCopy { get; init; }

    public string? WorkDirectory { get; init; }

    /// <summary>The whole run is cancelled after this; what was measured by then is written, marked incomplete.</summary>
    public TimeSpan MaxTime { get; init; } = TimeSpan.FromMinutes(20);

    /// <summary>The Redis checkpoints: a hundredth, a tenth and all of <see cref="Records"/>.</summary>
    public IReadOnlyList<long> Checkpoints => [Records / 100, Records / 10, Records];

    public static ScaleSettings Parse(string[] args)
    {
        var line = CommandLine.Parse(args);
        var settings = new ScaleSettings();
        foreach (var name in line.Names)
        {
            var value = line.Get(name)!;
            settings = name.ToLowerInvariant() switch
            {
                "records" => settings with { Records = Positive(value, name) },
                "memory-limit-mb" => settings with { MemoryLimitBytes = Positive(value, name) * 1024 * 1024 },
                "measure-seconds" => settings with { MeasureDuration = TimeSpan.FromSeconds(Positive(value, name)) },
                "window-seconds" => settings with { MaxWindow = TimeSpan.FromSeconds(Positive(value, name)) },
                "connections" => settings with { Connections = (int)Positive(value, name) },
                "size" => settings with { Size = (int)Positive(value, name) },
                "handler" => settings with { Handler = ParseHandler(value) },
                "replay-keys" => settings with { ReplayKeys = (int)Positive(value, name) },
                "memory-usage-samples" => settings with { MemoryUsageSamples = (int)Positive(value, name) },
                "redis" => settings with { Redis = bool.Parse(value) },
                "memory" => settings with { Memory = bool.Parse(value) },
                "memory-evict" => settings with { MemoryEvict = bool.Parse(value) },
                "out" => settings with { OutputDirectory = value },
                "label" => settings with { Label = value },
                "keep" => settings with { KeepDatedCopy = bool.Parse(value) },
                "work-dir" => settings with { WorkDirectory = value },
                "max-minutes" => settings with { MaxTime = TimeSpan.FromMinutes(double.Parse(value, CultureInfo.InvariantCulture)) },
                _ => throw new ArgumentException($"Unknown option --{name}."),
            };
        }

        if (settings.Records < 1000)
        {
            throw new ArgumentException("--records must be at least 1000 (its first checkpoint is a hundredth of it).");
        }

        if (!OrderHandlers.BodySizes.Contains(settings.Size))
        {
            throw new ArgumentException($"--size {settings.Size} is not served; use {string.Join(", ", OrderHandlers.BodySizes)}.");
        }

        return settings;
    }

    private static BenchHandler ParseHandler(string value) => value.ToLowerInvariant() switch
    {
        "trivial" => BenchHandler.Trivial,
        "realistic" => BenchHandler.Realistic,
        _ => throw new ArgumentException($"--handler takes trivial or realistic; got '{value}'."),
    };

    private static long Positive(string value, string name)
    {
        var number = long.Parse(value, CultureInfo.InvariantCulture);
        return number > 0 ? number : throw new ArgumentException($"--{name} must be positive.");
    }
}
