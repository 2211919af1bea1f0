using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Idempotency.Testing.Redis;

namespace Idempotency.Chaos.Hosting;

/// <summary>
/// One instance of tests/Idempotency.CrashTest.App as an OS process of its own (<c>dotnet</c> running the app built
/// beside this project), on a fixed 127.0.0.1 port so that it comes back where clients left it. It is killed with
/// SIGKILL, by its own PID, and started again; it also stops by itself once this process is gone.
/// </summary>
public sealed class CrashAppProcess : IAppInstance, IAsyncDisposable
{
    private const int LogLines = 100;
    // Generous: on a machine starved by other work, a .NET process takes far longer than its usual second or two to start.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    /// <param name="name">The instance's name, written into its rows and responses.</param>
    /// <param name="settings">The app's configuration, as environment variables (<c>Section__Key</c>).</param>
    public CrashAppProcess(string name, IReadOnlyDictionary<string, string> settings)
    {
        Name = name;
        _settings = settings;
        Port = RedisServerProcess.GetFreePort();
        Address = new Uri($"http://127.0.0.1:{Port}/");
        Client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 256,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        })
        {
            BaseAddress = Address,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public string Name { get; }

    public int Port { get; }

    public Uri? Address { get; }

    public HttpClient Client { get; }

    /// <summary>The app's entry assembly, built with this project (its path is recorded at build time).</summary>
    public static string AppPath { get; } = FindApp();

    /// <summary>Starts the process and waits until it answers <c>/health</c>.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            return;
        }

        var startInfo = new ProcessStartInfo(DotNetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(AppPath)!,
        };
        startInfo.ArgumentList.Add(AppPath);
        foreach (var (key, value) in _settings)
        {
            startInfo.Environment[key] = value;
        }

        startInfo.Environment["ASPNETCORE_URLS"] = Address!.ToString();
        startInfo.Environment["DOTNET_ENVIRONMENT"] = "Production";
        startInfo.Environment["DOTNET_gcServer"] = "0";
        startInfo.Environment["Logging__LogLevel__Default"] = "Warning";
        startInfo.Environment["Crash__Instance"] = Name;
        startInfo.Environment["Crash__ParentProcessId"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Instance {Name} did not start.");
        process.OutputDataReceived += (_, line) => Keep(line.Data);
        process.ErrorDataReceived += (_, line) => Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Instance {Name} exited with code {process.ExitCode} while starting. Output:\n{LogTail()}");
            }

            if (await IsHealthyAsync())
            {
                return;
            }

            await Task.Delay(50);
        }

        await KillAsync();
        throw new InvalidOperationException($"Instance {Name} did not answer /health within {StartTimeout}. Output:\n{LogTail()}");
    }

    /// <summary>Kills the process with SIGKILL (no shutdown of any kind, as in a crash) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        using (process)
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Client.Dispose();
    }

    /// <summary>How many order requests are inside the process (their completion included); 0 when it is not running.</summary>
    public async Task<int> InFlightAsync()
    {
        if (_process is not { HasExited: false })
        {
            return 0;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var text = await Client.GetStringAsync(new Uri("in-flight", UriKind.Relative), timeout.Token);
            return int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            // A process that is gone has nothing in flight; one that is alive but did not answer may have.
            return _process is { HasExited: false } ? 1 : 0;
        }
    }

    private async Task<bool> IsHealthyAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            using var response = await Client.GetAsync(new Uri("health", UriKind.Relative), timeout.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue($"[{Name}] {line}");
        while (_log.Count > LogLines && _log.TryDequeue(out _))
        {
        }
    }

    private string LogTail() => _log.IsEmpty ? "(no output)" : string.Join('\n', _log);

    private static string FindApp()
    {
        var path = typeof(CrashAppProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(attribute => attribute.Key == "CrashTestApp")?.Value;
        return path is not null && File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"The crash-test app is not where the build recorded it ('{path ?? "(not recorded)"}'): build tests/Idempotency.CrashTest.App with this project.");
    }

    /// <summary>The <c>dotnet</c> host running this process, so that the app runs on the same installation.</summary>
    private static string DotNetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } configured && File.Exists(configured))
        {
            return configured;
        }

        if (Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        // The runtime lives in <root>/shared/Microsoft.NETCore.App/<version>/, the host in <root>.
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var host = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(host) ? host : "dotnet";
    }
}
