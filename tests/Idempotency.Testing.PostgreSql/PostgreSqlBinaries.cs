using System.Diagnostics;
using System.Globalization;

namespace Idempotency.Testing.PostgreSql;

/// <summary>Finds the folder holding the PostgreSQL server binaries (<c>initdb</c>, <c>postgres</c>) the local fixture starts.</summary>
public static class PostgreSqlBinaries
{
    private const string EnvironmentVariable = "POSTGRES_BIN_PATH";

    /// <summary>The folder; fails with what to install when there is none.</summary>
    public static string Directory => Find();

    public static string InitDb => Path.Combine(Directory, "initdb");

    public static string Server => Path.Combine(Directory, "postgres");

    private static string Find()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured)
        {
            return File.Exists(Path.Combine(configured, "initdb"))
                ? configured
                : throw new InvalidOperationException($"{EnvironmentVariable} points to '{configured}', which holds no initdb.");
        }

        // Debian and Ubuntu keep each major version apart and put neither initdb nor postgres on PATH.
        var debian = HighestDebianVersion();
        if (debian is not null)
        {
            return debian;
        }

        var fromPgConfig = PgConfigBinDir();
        if (fromPgConfig is not null && File.Exists(Path.Combine(fromPgConfig, "initdb")))
        {
            return fromPgConfig;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "postgres")))
            {
                return directory;
            }
        }

        throw new InvalidOperationException(
            "The PostgreSQL tests need a Docker daemon or the PostgreSQL server binaries (initdb, postgres), and neither is available. " +
            $"Install PostgreSQL (Debian: apt-get install -y postgresql; ./build.sh test does this) or set {EnvironmentVariable} to the folder holding initdb.");
    }

    private static string? HighestDebianVersion()
    {
        const string root = "/usr/lib/postgresql";
        if (!System.IO.Directory.Exists(root))
        {
            return null;
        }

        string? best = null;
        var bestVersion = -1;
        foreach (var candidate in System.IO.Directory.GetDirectories(root))
        {
            if (int.TryParse(Path.GetFileName(candidate), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                && version > bestVersion
                && File.Exists(Path.Combine(candidate, "bin", "initdb")))
            {
                best = Path.Combine(candidate, "bin");
                bestVersion = version;
            }
        }

        return best;
    }

    private static string? PgConfigBinDir()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("pg_config", "--bindir")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No pg_config on PATH.
            return null;
        }
    }
}
