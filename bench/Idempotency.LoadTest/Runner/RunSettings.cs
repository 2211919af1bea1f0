using System.Globalization;

namespace Idempotency.LoadTest.Runner;

/// <summary>
/// What a run does. The defaults are the run <c>bench/run.sh</c> makes (about ten minutes on two cores after the build);
/// <c>--quick</c> is a short one for development, <c>--full</c> a thorough one.
/// </summary>
public sealed record RunSettings
{
    /// <summary>Per scenario and round. wrk takes whole seconds only. 1 s rounds gave per-round ratios from 0.96 to 1.20.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Rounds: the samples of each figure's median and confidence interval.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>wrk threads. One leaves the other core to the server; on two cores a second would only contend.</summary>
    public int Threads { get; init; } = 1;

    public int Connections { get; init; } = 32;

    public int LatencyRate { get; init; } = 1000;

    public TimeSpan LatencyDuration { get; init; } = TimeSpan.FromSeconds(2);

    public bool SkipLatency { get; init; }

    public IReadOnlyList<int> Sizes { get; init; } = App.OrderHandlers.BodySizes;

    public int HeadlineSize { get; init; } = 4 * 1024;

    /// <summary>Every scenario at every size, instead of the secondary scenarios at the headline size only.</summary>
    public bool Full { get; init; }

    /// <summary>Name prefixes of the scenarios to run (with the baselines they are divided by); empty: all of them.</summary>
    public IReadOnlyList<string> Only { get; init; } = [];

    public string OutputDirectory { get; init; } = "bench/results";

    public string Label { get; init; } = string.Empty;

    /// <summary>Also writes <c>run-{date}Z.json</c> and <c>.md</c>, which later runs leave alone.</summary>
    public bool KeepDatedCopy { get; init; }

    public string? WorkDirectory { get; init; }

    /// <summary>The whole run is cancelled after this, whatever it is doing.</summary>
    public TimeSpan MaxTime { get; init; } = TimeSpan.FromMinutes(20);

    public static RunSettings Parse(string[] args)
    {
        var line = CommandLine.Parse(args);
        var settings = new RunSettings();
        if (line.Get("quick") is { } quick && bool.Parse(quick))
        {
            // For development: figures too noisy to quote. The other options given still apply over it.
            settings = settings with { Rounds = 2, Duration = TimeSpan.FromSeconds(1), LatencyDuration = TimeSpan.FromSeconds(1) };
        }

        foreach (var name in line.Names)
        {
            var value = line.Get(name)!;
            settings = name.ToLowerInvariant() switch
            {
                "duration" => settings with { Duration = TimeSpan.FromSeconds(Positive(value, name)) },
                "warmup" => settings with { Warmup = TimeSpan.FromSeconds(Positive(value, name)) },
                "rounds" => settings with { Rounds = Positive(value, name) },
                "threads" => settings with { Threads = Positive(value, name) },
                "connections" => settings with { Connections = Positive(value, name) },
                "rate" => settings with { LatencyRate = Positive(value, name) },
                "latency-duration" => settings with { LatencyDuration = Seconds(value) },
                "skip-latency" => settings with { SkipLatency = bool.Parse(value) },
                "sizes" => settings with { Sizes = value.Split(',').Select(s => Positive(s, name)).ToArray() },
                "headline-size" => settings with { HeadlineSize = Positive(value, name) },
                "full" => settings with { Full = bool.Parse(value) },
                "quick" => settings,
                "only" => settings with { Only = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "out" => settings with { OutputDirectory = value },
                "label" => settings with { Label = value },
                "keep" => settings with { KeepDatedCopy = bool.Parse(value) },
                "work-dir" => settings with { WorkDirectory = value },
                "max-minutes" => settings with { MaxTime = TimeSpan.FromMinutes(double.Parse(value, CultureInfo.InvariantCulture)) },
                _ => throw new ArgumentException($"Unknown option --{name}."),
            };
        }

        if (!settings.Sizes.Contains(settings.HeadlineSize))
        {
            throw new ArgumentException($"--headline-size {settings.HeadlineSize} is not one of --sizes.");
        }

        var unsupported = settings.Sizes.Except(App.OrderHandlers.BodySizes).ToArray();
        if (unsupported.Length > 0)
        {
            throw new ArgumentException($"Sizes {string.Join(", ", unsupported)} are not served; use {string.Join(", ", App.OrderHandlers.BodySizes)}.");
        }

        return settings;
    }

    private static TimeSpan Seconds(string value) => TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));

    private static int Positive(string value, string name)
    {
        var number = int.Parse(value, CultureInfo.InvariantCulture);
        return number > 0 ? number : throw new ArgumentException($"--{name} must be positive.");
    }
}
