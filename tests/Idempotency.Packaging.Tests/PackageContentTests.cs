using Idempotency.Packaging.Tests.Infrastructure;

namespace Idempotency.Packaging.Tests;

public sealed class PackageContentTests
{
    [Theory]
    [MemberData(nameof(Repository.Packages), MemberType = typeof(Repository))]
    public void Package_ships_an_assembly_and_its_xml_docs_for_each_target_framework(string id, string[] frameworks)
    {
        using var package = PackageFile.Open(id);

        var libraryFiles = package.EntryNames.Where(n => n.StartsWith("lib/", StringComparison.Ordinal)).Order().ToArray();
        var expected = frameworks.SelectMany(f => new[] { $"lib/{f}/{id}.dll", $"lib/{f}/{id}.xml" }).Order().ToArray();
        Assert.Equal(expected, libraryFiles);
        foreach (var framework in frameworks)
        {
            var docs = System.Text.Encoding.UTF8.GetString(package.Read($"lib/{framework}/{id}.xml"));
            Assert.Contains($"<name>{id}</name>", docs, StringComparison.Ordinal);
            Assert.Contains("<member name=\"T:", docs, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Repository.Packages), MemberType = typeof(Repository))]
    public void Package_carries_its_own_readme(string id, string[] frameworks)
    {
        _ = frameworks;
        using var package = PackageFile.Open(id);

        Assert.Equal("README.md", package.Metadata("readme")?.Value);
        var packed = package.Read("README.md");
        var source = File.ReadAllBytes(Path.Combine(Repository.Root, "src", id, "README.md"));
        Assert.Equal(source, packed);
        Assert.StartsWith($"# {id}\n", System.Text.Encoding.UTF8.GetString(packed), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Repository.Packages), MemberType = typeof(Repository))]
    public void Package_declares_license_repository_and_description(string id, string[] frameworks)
    {
        _ = frameworks;
        using var package = PackageFile.Open(id);

        var license = package.Metadata("license");
        Assert.Equal("expression", license?.Attribute("type")?.Value);
        Assert.Equal("MIT", license?.Value);
        Assert.Equal(Repository.Url, package.Metadata("projectUrl")?.Value);

        var repository = package.Metadata("repository");
        Assert.Equal("git", repository?.Attribute("type")?.Value);
        Assert.Equal(Repository.Url, repository?.Attribute("url")?.Value);
        Assert.Matches("^[0-9a-f]{40}$", repository?.Attribute("commit")?.Value ?? "");

        Assert.False(string.IsNullOrWhiteSpace(package.Metadata("description")?.Value));
        Assert.Contains("idempotency", (package.Metadata("tags")?.Value ?? "").Split(' '));
    }

    /// <summary>
    /// Idempotency.Redis uses only the core's public API, so any later core version will do; Idempotency.OpenApi uses its
    /// internals (the policy resolver, through InternalsVisibleTo), so only the version it was built with will.
    /// </summary>
    [Theory]
    [InlineData("Idempotency.Redis", "{0}")]
    [InlineData("Idempotency.EntityFrameworkCore", "{0}")]
    [InlineData("Idempotency.Testing", "{0}")]
    [InlineData("Idempotency.OpenApi", "[{0}]")]
    public void Package_built_on_the_core_package_depends_on_the_version_it_was_built_with(string id, string range)
    {
        using var core = PackageFile.Open("Idempotency");
        using var package = PackageFile.Open(id);
        var version = core.Metadata("version")!.Value;

        var groups = package.Metadata("dependencies")!.Elements().ToArray();
        Assert.NotEmpty(groups);
        foreach (var group in groups)
        {
            var dependency = group.Elements().Single(d => d.Attribute("id")?.Value == "Idempotency");
            Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, range, version), dependency.Attribute("version")?.Value);
        }
    }

    /// <summary>A consumer on net8.0 gets Microsoft.Extensions.* (and EF Core) of the 8.0 line, one on net10.0 the 10.0 line, never a newer major than its framework.</summary>
    [Theory]
    [InlineData("net8.0", "8.")]
    [InlineData("net10.0", "10.")]
    public void Packages_depend_on_Microsoft_Extensions_of_their_target_frameworks_line(string framework, string major)
    {
        foreach (var id in new[] { "Idempotency", "Idempotency.Redis", "Idempotency.EntityFrameworkCore", "Idempotency.Client", "Idempotency.Testing" })
        {
            using var package = PackageFile.Open(id);
            var group = package.Metadata("dependencies")!.Elements()
                .SingleOrDefault(g => string.Equals(g.Attribute("targetFramework")?.Value, framework, StringComparison.OrdinalIgnoreCase)
                    || string.Equals(g.Attribute("targetFramework")?.Value, framework.Replace("net", ".NETCoreApp", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase));
            Assert.NotNull(group);
            foreach (var dependency in group!.Elements())
            {
                var name = dependency.Attribute("id")!.Value;
                if (name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal) || name.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal))
                {
                    Assert.True(
                        dependency.Attribute("version")!.Value.TrimStart('[', '(').StartsWith(major, StringComparison.Ordinal),
                        $"{id} for {framework} depends on {name} {dependency.Attribute("version")!.Value}, not the {major}x line.");
                }
            }
        }
    }

    [Fact]
    public void Client_package_does_not_depend_on_AspNetCore()
    {
        using var package = PackageFile.Open("Idempotency.Client");

        Assert.Null(package.Metadata("frameworkReferences"));
        var dependencies = package.Metadata("dependencies")!.Descendants().Select(d => d.Attribute("id")?.Value).OfType<string>();
        Assert.DoesNotContain(dependencies, d => d.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
    }

    [Fact]
    public void Testing_package_depends_on_no_store_or_server()
    {
        using var package = PackageFile.Open("Idempotency.Testing");

        var dependencies = package.Metadata("dependencies")!.Descendants().Select(d => d.Attribute("id")?.Value).OfType<string>().ToArray();
        Assert.Contains("xunit.extensibility.core", dependencies);
        Assert.DoesNotContain(dependencies, d => d.Contains("Redis", StringComparison.OrdinalIgnoreCase) || d.Contains("Testcontainers", StringComparison.OrdinalIgnoreCase));
    }
}
