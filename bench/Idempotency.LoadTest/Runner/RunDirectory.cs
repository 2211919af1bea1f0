namespace Idempotency.LoadTest.Runner;

/// <summary>
/// The run's temporary directory: logs, request bodies, the Redis directory, and <c>pids</c> (one PID a line) naming
/// every process the runner started.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    private readonly object _gate = new();

    public RunDirectory(string? path)
    {
        Path = path ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "idempotency-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path);
        PidFile = System.IO.Path.Combine(Path, "pids");
        File.WriteAllText(PidFile, string.Empty);
    }

    public string Path { get; }

    public string PidFile { get; }

    public void RecordPid(int pid)
    {
        lock (_gate)
        {
            File.AppendAllText(PidFile, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
