using System.Runtime.InteropServices;

namespace Idempotency.LoadTest.Runner;

/// <summary>The machine a run happened on, in one line: cores, CPU model, OS, .NET version.</summary>
public static class MachineInfo
{
    public static string Describe()
    {
        var cpu = ReadField("/proc/cpuinfo", "model name", ':') ?? RuntimeInformation.ProcessArchitecture.ToString();
        var os = ReadField("/etc/os-release", "PRETTY_NAME", '=')?.Trim('"') ?? RuntimeInformation.OSDescription;
        var kernel = Environment.OSVersion.Version.ToString();
        return $"{Environment.ProcessorCount} cores, {cpu}, {os} (Linux {kernel}), {RuntimeInformation.FrameworkDescription}";
    }

    /// <summary>The 1-minute load average, to say how busy the machine was when the run began.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// How busy the cores were over <paramref name="sample"/> (0 to 1), from <c>/proc/stat</c>; taken before the run starts
    /// anything, it says whether other work was using the machine. The load average cannot: it still counts the build
    /// that ran just before, and later the run's own processes.
    /// </summary>
    public static async Task<double?> MeasureCpuBusyAsync(TimeSpan sample, CancellationToken cancellationToken)
    {
        var before = CpuTicks.OfMachine();
        await Task.Delay(sample, cancellationToken);
        var after = CpuTicks.OfMachine();
        if (before is not { } start || after is not { } end || end.Total <= start.Total)
        {
            return null;
        }

        return (double)(end.Busy - start.Busy) / (end.Total - start.Total);
    }

    private static string? ReadField(string path, string name, char separator)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var at = line.IndexOf(separator);
                if (at > 0 && line[..at].Trim() == name)
                {
                    return line[(at + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
            // Not Linux, or hidden: the fallback says less but still says something.
        }

        return null;
    }
}
