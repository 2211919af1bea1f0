using System.Diagnostics;
using System.Text;
using System.Xml.Linq;
using Idempotency.Packaging.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Idempotency.Packaging.Tests;

/// <summary>
/// The store kit as a store author gets it: a throwaway test project outside the repository installs the packed
/// Idempotency and Idempotency.Testing packages from this build's package folder, compiles the third-party dictionary
/// store of Idempotency.StoreKit.Tests (the same file), and runs the packed conformance and property suites against it.
/// </summary>
public sealed class PackedStoreKitTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(4);

    private static readonly string[] StoreFiles = ["DictionaryStore.cs", "DictionaryStoreConformanceTests.cs", "DictionaryStorePropertyTests.cs"];

    [Fact]
    public async Task The_packed_conformance_suite_runs_and_passes_against_a_third_party_store()
    {
        var work = Directory.CreateTempSubdirectory("idempotency-storekit-");
        try
        {
            var project = Path.Combine(work.FullName, "StoreKitCheck");
            var packages = Path.Combine(work.FullName, "packages");
            Directory.CreateDirectory(project);
            WriteProject(project, packages);

            var (exitCode, log) = await RunAsync(project, "test", "-c", "Release", "--nologo", "-nodeReuse:false", "-p:UseSharedCompilation=false");

            output.WriteLine(log);
            Assert.True(exitCode == 0, $"dotnet test of the throwaway project exited with {exitCode}:\n{log}");
            Assert.Matches(@"Passed!\s+-\s+Failed:\s+0, Passed:\s+[1-9][0-9]", log);

            // Installed from this build's packages, not taken from some earlier install of the same version.
            Assert.True(Directory.Exists(Path.Combine(packages, "idempotency.testing")), "Idempotency.Testing was not installed from the package folder.");
            Assert.True(Directory.Exists(Path.Combine(packages, "idempotency")), "Idempotency was not installed from the package folder.");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static void WriteProject(string project, string packages)
    {
        using var core = PackageFile.Open("Idempotency");
        var version = core.Metadata("version")!.Value;
        // The throwaway project targets net10.0: versions pinned for net8.0 only do not apply to it.
        var pinned = XDocument.Load(Path.Combine(Repository.Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Where(e => e.Attribute("Condition")?.Value.Contains("== 'net8.0'", StringComparison.Ordinal) != true)
            .ToDictionary(e => e.Attribute("Include")!.Value, e => e.Attribute("Version")!.Value, StringComparer.Ordinal);

        string Reference(string id, string? at = null) => $"""    <PackageReference Include="{id}" Version="{at ?? pinned[id]}" />""";

        File.WriteAllText(Path.Combine(project, "StoreKitCheck.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <IsPackable>false</IsPackable>
              </PropertyGroup>
              <ItemGroup>
            {Reference("Idempotency", version)}
            {Reference("Idempotency.Testing", version)}
            {Reference("Microsoft.NET.Test.Sdk")}
            {Reference("xunit")}
            {Reference("xunit.runner.visualstudio")}
            {Reference("Microsoft.Extensions.TimeProvider.Testing")}
              </ItemGroup>
              <ItemGroup>
                <Using Include="Xunit" />
              </ItemGroup>
            </Project>
            """);

        // Our packages only from this build's folder, into a packages folder of their own; everything else from the
        // sources this machine uses, through the machine's packages folder as a read-only fallback (no second download).
        var sources = new StringBuilder();
        var mapping = new StringBuilder();
        var upstream = 0;
        foreach (var source in ConfiguredSources())
        {
            upstream++;
            sources.AppendLine($"""    <add key="upstream{upstream}" value="{source}" />""");
            mapping.AppendLine($"""    <packageSource key="upstream{upstream}"><package pattern="*" /></packageSource>""");
        }

        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{packages}" />
              </config>
              <fallbackPackageFolders>
                <clear />
                <add key="machine" value="{MachinePackagesFolder()}" />
              </fallbackPackageFolders>
              <packageSources>
                <clear />
                <add key="build" value="{PackageFile.PackagesDirectory}" />
            {sources}  </packageSources>
              <packageSourceMapping>
                <packageSource key="build">
                  <package pattern="Idempotency" />
                  <package pattern="Idempotency.*" />
                </packageSource>
            {mapping}  </packageSourceMapping>
            </configuration>
            """);
        File.Copy(Path.Combine(Repository.Root, "global.json"), Path.Combine(project, "global.json"));
        foreach (var file in StoreFiles)
        {
            File.Copy(Path.Combine(Repository.Root, "tests", "Idempotency.StoreKit.Tests", file), Path.Combine(project, file));
        }
    }

    private static IEnumerable<string> ConfiguredSources()
    {
        var (_, listed) = RunAsync(Repository.Root, "nuget", "list", "source", "--format", "short").GetAwaiter().GetResult();
        var sources = listed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith("E ", StringComparison.Ordinal))
            .Select(line => line[2..].Trim())
            .ToArray();
        Assert.NotEmpty(sources);
        return sources;
    }

    private static string MachinePackagesFolder()
    {
        var (_, listed) = RunAsync(Repository.Root, "nuget", "locals", "global-packages", "--list").GetAwaiter().GetResult();
        return listed.Trim()["global-packages:".Length..].Trim();
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host's own MSBuild and test-platform settings must not leak into the child build.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToArray())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        using var process = Process.Start(start)!;
        var standardOutput = process.StandardOutput.ReadToEndAsync();
        var standardError = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Budget);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} took longer than {Budget}.");
        }

        return (process.ExitCode, await standardOutput + await standardError);
    }
}
