using System.Text.RegularExpressions;
using Idempotency.Packaging.Tests.Infrastructure;

namespace Idempotency.Packaging.Tests;

/// <summary>
/// The build checks each package's public API against its PublicAPI.*.txt files (docs/public-api.md); these tests make
/// sure no package is without them and that every package this build packs is one of the checked projects.
/// </summary>
public sealed partial class PublicApiBaselineTests
{
    public static TheoryData<string> PackableProjects() => new(PackableProjectNames());

    // Packable by src/Directory.Build.props unless the project says otherwise.
    private static IEnumerable<string> PackableProjectNames() =>
        Directory.GetFiles(Path.Combine(Repository.Root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(static p => !NotPackable().IsMatch(File.ReadAllText(p)))
            .Select(static p => Path.GetFileNameWithoutExtension(p))
            .Order(StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(PackableProjects))]
    public void Packable_project_declares_its_public_api_in_shipped_and_unshipped_files(string project)
    {
        var directory = Path.Combine(Repository.Root, "src", project);
        foreach (var file in new[] { "PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt" })
        {
            var path = Path.Combine(directory, file);
            Assert.True(File.Exists(path), $"{project} has no {file}: run ./build.sh public-api {project} (docs/public-api.md).");
            var lines = File.ReadAllLines(path);
            Assert.True(lines.Length > 0 && lines[0] == "#nullable enable", $"{project}/{file} must start with '#nullable enable', so nullability is part of the baseline.");
            var duplicates = lines.Where(static l => l.Length > 0).GroupBy(static l => l, StringComparer.Ordinal).Where(static g => g.Count() > 1).Select(static g => g.Key).ToArray();
            Assert.True(duplicates.Length == 0, $"{project}/{file} declares twice: {string.Join(", ", duplicates)}");
        }
    }

    [Fact]
    public void Every_inspected_package_is_a_project_with_baselines()
    {
        var projects = PackableProjectNames().ToHashSet(StringComparer.Ordinal);
        var packed = Directory.GetFiles(PackageFile.PackagesDirectory, "*.nupkg").Select(static p => Path.GetFileName(p)).ToArray();
        Assert.NotEmpty(packed);

        foreach (var package in packed)
        {
            // "Idempotency.Redis.0.1.0.nupkg": the id is what comes before the version.
            var id = PackageId().Match(package).Groups["id"].Value;
            Assert.True(projects.Contains(id), $"{package} is packed, but no project under src/ named {id} is checked against public API baselines.");
        }
    }

    [GeneratedRegex(@"^(?<id>.+?)\.\d+\.\d+\.\d+")]
    private static partial Regex PackageId();

    [GeneratedRegex(@"<IsPackable>\s*false\s*</IsPackable>", RegexOptions.IgnoreCase)]
    private static partial Regex NotPackable();
}
