namespace Idempotency.Testing.Redis;

/// <summary>Finds the redis-server and redis-cli binaries the local fixtures start.</summary>
public static class RedisBinaries
{
    public static string Server => Find("redis-server", "REDIS_SERVER_PATH");

    public static string Cli => Find("redis-cli", "REDIS_CLI_PATH");

    private static string Find(string name, string environmentVariable)
    {
        if (Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException($"{environmentVariable} points to '{configured}', which does not exist.");
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        var standard = Path.Combine("/usr/bin", name);
        return File.Exists(standard)
            ? standard
            : throw new InvalidOperationException(
                $"The Redis tests need a Docker daemon or a local '{name}' binary, and neither is available. " +
                $"Install Redis (Debian: apt-get install -y redis-server) or set {environmentVariable}.");
    }
}
