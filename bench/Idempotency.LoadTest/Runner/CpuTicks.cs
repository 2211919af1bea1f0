using System.Globalization;

namespace Idempotency.LoadTest.Runner;

/// <summary>
/// CPU time from <c>/proc</c>, in clock ticks of 10 ms (Linux's <c>USER_HZ</c>, 100 on every architecture .NET runs on):
/// of one process (user + system) and of the whole machine (busy, all cores). <see langword="null"/> where <c>/proc</c>
/// cannot be read.
/// </summary>
public static class CpuTicks
{
    /// <summary>Microseconds per clock tick.</summary>
    public const double MicrosecondsPerTick = 10_000;

    /// <summary>User + system time of <paramref name="processId"/> so far.</summary>
    public static long? OfProcess(int processId)
    {
        try
        {
            // "pid (comm) state ppid ... utime stime ...": comm may contain spaces and parentheses, so fields are counted
            // from after its closing parenthesis; utime and stime are fields 14 and 15 of the line, 12 and 13 after it.
            var stat = File.ReadAllText($"/proc/{processId}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// User + system time of <paramref name="processId"/> and of its children so far: a PostgreSQL server's work is done
    /// by one backend process per connection, each a child of the postmaster.
    /// </summary>
    public static long? OfProcessAndChildren(int processId)
    {
        var total = OfProcess(processId);
        if (total is null)
        {
            return null;
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != processId && ParentOf(pid) == processId)
            {
                total += OfProcess(pid) ?? 0;
            }
        }

        return total;
    }

    private static int? ParentOf(int processId)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{processId}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ', 3);
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Busy and total time of all cores so far: busy excludes idle and I/O wait.</summary>
    public static (long Busy, long Total)? OfMachine()
    {
        try
        {
            // "cpu  user nice system idle iowait irq softirq steal ...".
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long total = 0;
            for (var i = 1; i < fields.Length && i <= 8; i++)
            {
                total += long.Parse(fields[i], CultureInfo.InvariantCulture);
            }

            var idle = long.Parse(fields[4], CultureInfo.InvariantCulture) + long.Parse(fields[5], CultureInfo.InvariantCulture);
            return (total - idle, total);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
